"""The scaled stack on one machine, from Rasa's and Debian's own parts (no home-made coordination):

    HAProxy ──► web service (widget, console, API)        one process; it reaches Rasa through HAProxy too
            ──► Rasa ×2   tracker store: SQLTrackerStore on PostgreSQL; lock store: RedisLockStore
            ──► action servers ×2 (actions/server.py)      stateless; orders and ledger in PostgreSQL
    PostgreSQL (orders, ledger, trackers) and Redis (conversation locks), started here in `workdir`.

`python -m bot.scaled run [--model M]` (make run-scaled) starts it on the fixed ports below and prints where
everything is; tests/test_scaled_faults.py and bench/bench_e2e.py --scaled start it on free ports. Every
process is a child of this one and stops with it. The multi-machine layout is in docs/scaling.md.
The servers are subprocesses: bot/ still never imports Rasa.
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from bot.convtest.stack import (PYTHON, StackError, action_server_command, free_port, get_ok, newest_model,
                                rasa_command)
from bot.settings import PROJECT_ROOT

ENDPOINTS = PROJECT_ROOT / "endpoints.scaled.yml"
PG_USER = "postgres"
TRACKER_DB, ORDERS_DB = "rasa_tracker", "aftersales"
# A conversation's Redis lock lives this long at most (Rasa's default is 60 s): when a Rasa instance dies
# holding one, the other instance may take the conversation after this. Longer than any turn takes.
LOCK_LIFETIME_S = 20
START_TIMEOUT_S = 300
# make run-scaled: fixed ports in one block, so the printed addresses stay the same from run to run.
FIXED_PORTS = {"web_lb": 16080, "rasa_lb": 16005, "actions_lb": 16055, "stats": 16090, "pg": 16432,
               "redis": 16379, "web": 16800, "rasa1": 16101, "rasa2": 16102, "actions1": 16151, "actions2": 16152}


def free_ports() -> dict[str, int]:
    return {name: free_port() for name in FIXED_PORTS}


@dataclass
class ScaledStack:
    workdir: Path
    ports: dict[str, int]
    model: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    startup_s: float = 0.0
    test_mode: bool = False  # AFTERSALES_TEST_CLOCK=1 for the action servers (the conversation suites)

    # ------------------------------------------------------------------ addresses
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def rasa_url(self) -> str:  # through the load balancer
        return self.url("rasa_lb")

    @property
    def web_url(self) -> str:
        return self.url("web_lb")

    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{self.ports['pg']}/{ORDERS_DB}"

    def log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def env(self) -> dict[str, str]:
        """What every Rasa, action server and web process of the stack gets (endpoints.scaled.yml reads it)."""
        extra = {"AFTERSALES_TEST_CLOCK": "1"} if self.test_mode else {}
        return {**os.environ, **extra, "AFTERSALES_DB_URL": self.db_url, "AFTERSALES_RASA_URL": self.rasa_url,
                "AFTERSALES_ACTIONS_URL": self.url("actions_lb"), "AFTERSALES_PG_HOST": "127.0.0.1",
                "AFTERSALES_PG_PORT": str(self.ports["pg"]), "AFTERSALES_PG_USER": PG_USER,
                "AFTERSALES_TRACKER_DB": TRACKER_DB, "AFTERSALES_REDIS_HOST": "127.0.0.1",
                "AFTERSALES_REDIS_PORT": str(self.ports["redis"]), "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_S),
                "AFTERSALES_UPLOAD_DIR": str(self.workdir / "uploads"), "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}

    # ------------------------------------------------------------------ processes
    def spawn(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log(name), "a") as log:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       env=kwargs.pop("env", self.env()), start_new_session=True, **kwargs)
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one process at once (the fault tests); its whole process group (Sanic workers too)."""
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)

    def start(self, name: str) -> None:
        """(Re)start one part: postgres, redis, haproxy, web, rasa1/2, actions1/2."""
        starters = {"postgres": self._start_postgres, "redis": self._start_redis, "haproxy": self._start_haproxy,
                    "web": self._start_web}
        if name in starters:
            starters[name]()
        elif name.startswith("rasa"):
            self.spawn(name, rasa_command(self.model, self.ports[name], ENDPOINTS))
        elif name.startswith("actions"):
            self.spawn(name, action_server_command(self.ports[name]))
        else:
            raise KeyError(name)

    def stop_postgres(self, check: bool = False) -> None:
        """Stop PostgreSQL at once (immediate: as a crash would). check=True: raise when it did not stop."""
        done = subprocess.run(_as_pg([str(_pg_bin("pg_ctl")), "-D", str(self.pg_data), "-m", "immediate", "-w",
                                      "stop"]), capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise StackError(f"PostgreSQL did not stop: {done.stdout} {done.stderr}")

    def stop(self) -> None:
        for name in ("haproxy", "web", "rasa1", "rasa2", "actions1", "actions2", "redis"):
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.pg_data.exists():
            self.stop_postgres()
        self.processes = {}

    # ------------------------------------------------------------------ the parts
    @property
    def pg_data(self) -> Path:
        return self.workdir / "pg"

    def _start_postgres(self) -> None:
        if not (self.pg_data / "PG_VERSION").exists():
            self.pg_data.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.pg_data, PG_USER)
            subprocess.run(_as_pg([str(_pg_bin("initdb")), "-D", str(self.pg_data), "--auth=trust", "-U", PG_USER,
                                   "--encoding=UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
        # Durable commits (PostgreSQL's defaults): with synchronous_commit=off a commit is confirmed before its
        # WAL is written out, and a crash (the fault tests stop it at once) lost the turn Rasa had just saved: the
        # conversation went back to asking for the photo the buyer had sent, for good.
        options = (f"-p {self.ports['pg']} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.pg_data} "
                   "-c max_connections=200")
        log = self.log("postgres")
        log.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(log.parent, PG_USER)
        subprocess.run(_as_pg([str(_pg_bin("pg_ctl")), "-D", str(self.pg_data), "-l", str(log), "-w", "-t", "60",
                               "-o", options, "start"]), check=True, capture_output=True)

    def _psql(self, sql: str) -> str:
        done = subprocess.run(_as_pg([str(_pg_bin("psql")), "-h", "127.0.0.1", "-p", str(self.ports["pg"]),
                                      "-U", PG_USER, "-d", "postgres", "-tAc", sql]),
                              check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def _create_databases(self) -> None:
        for name in (ORDERS_DB, TRACKER_DB):
            if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
                self._psql(f"CREATE DATABASE {name}")

    def _start_redis(self) -> None:
        self.spawn("redis", ["redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)])

    def _start_web(self) -> None:
        self.spawn("web", [str(PYTHON), "-m", "bot.web", "--host", "127.0.0.1", "--port", str(self.ports["web"])])

    def _start_haproxy(self) -> None:
        config = self.workdir / "haproxy.cfg"
        config.write_text(haproxy_config(self.ports))
        self.spawn("haproxy", ["haproxy", "-W", "-db", "-f", str(config)])

    def seed(self) -> None:
        for command in (["-m", "bot", "db", "seed"], ["-m", "bot.report", "seed-history"]):
            subprocess.run([str(PYTHON), *command], cwd=PROJECT_ROOT, env=self.env(), check=True,
                           capture_output=True, timeout=300)

    # ------------------------------------------------------------------ health
    def up(self, name: str) -> bool:
        paths = {"web": "/api/config", "rasa1": "/status", "rasa2": "/status", "actions1": "/health",
                 "actions2": "/health", "web_lb": "/api/config", "rasa_lb": "/status"}
        return get_ok(self.url(name) + paths[name])

    def wait_until(self, names: tuple[str, ...], timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not all(self.up(name) for name in names):
            dead = [n for n, p in self.processes.items() if p.poll() is not None and n in names]
            if dead:
                raise StackError(f"{', '.join(dead)} exited; see {self.workdir / 'logs'}")
            if time.monotonic() > deadline:
                raise StackError(f"not up in {timeout_s:.0f} s: {[n for n in names if not self.up(n)]}")
            time.sleep(0.5)


def haproxy_config(ports: dict[str, int]) -> str:
    """Round robin over both Rasa instances (any instance may serve any conversation: the tracker is in
    PostgreSQL, the lock in Redis) and both action servers; a server failing its health check twice (1 s
    apart) leaves the rotation, and a request whose connection is refused goes to the other server. A
    request already sent to a server that dies is not sent again (a buyer message is not idempotent).
    A check waits up to 5 s for its answer: a killed server refuses the connection at once (out in about
    2 s), while a live one under a peak may take over a second to answer between two buyer messages. With
    the 1 s default, both Rasa instances left the rotation together at 50 buyers and the balancer answered
    503 to one message in ten (bench_e2e, 2026-12-07)."""
    return f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    retries 2
    option redispatch
    retry-on conn-failure
    default-server inter 1s fall 2 rise 1
frontend web
    bind 127.0.0.1:{ports['web_lb']}
    default_backend web
frontend rasa
    bind 127.0.0.1:{ports['rasa_lb']}
    default_backend rasa
frontend actions
    bind 127.0.0.1:{ports['actions_lb']}
    default_backend actions
frontend stats
    bind 127.0.0.1:{ports['stats']}
    stats enable
    stats uri /
backend web
    option httpchk GET /api/config
    server web1 127.0.0.1:{ports['web']} check
backend rasa
    balance roundrobin
    option httpchk GET /
    server rasa1 127.0.0.1:{ports['rasa1']} check
    server rasa2 127.0.0.1:{ports['rasa2']} check
backend actions
    balance roundrobin
    option httpchk GET /health
    server actions1 127.0.0.1:{ports['actions1']} check
    server actions2 127.0.0.1:{ports['actions2']} check
"""


def _pg_bin(name: str) -> Path:
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / name).exists():
            return directory / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise StackError(f"PostgreSQL's {name} not found (apt-get install postgresql)")


def _as_pg(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user when we are root."""
    if os.getuid() == 0:
        pwd.getpwnam(PG_USER)  # KeyError: the Debian package creates this user
        return ["runuser", "-u", PG_USER, "--", *command]
    return command


def start_scaled_stack(model: Path, workdir: Path, ports: Optional[dict[str, int]] = None, *,
                       seed: bool = True, test_mode: bool = False, timeout_s: float = START_TIMEOUT_S) -> ScaledStack:
    """PostgreSQL, Redis, the demo shop, two action servers, two Rasa, the web service, HAProxy; returns
    once every part answers through the load balancer (StackError otherwise, with the stack stopped)."""
    for tool in ("redis-server", "haproxy"):
        if shutil.which(tool) is None:
            raise StackError(f"{tool} not found: apt-get install redis-server haproxy")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stack = ScaledStack(workdir, ports or free_ports(), Path(model), test_mode=test_mode)
    started = time.perf_counter()
    try:
        stack.start("postgres")
        stack._create_databases()
        stack.start("redis")
        if seed:
            stack.seed()
        for name in ("actions1", "actions2", "rasa1", "rasa2", "web", "haproxy"):
            stack.start(name)
        stack.wait_until(("actions1", "actions2", "rasa1", "rasa2", "web"), timeout_s)
        stack.wait_until(("rasa_lb", "web_lb"), 30)
    except BaseException:
        stack.stop()
        raise
    stack.startup_s = time.perf_counter() - started
    return stack


def describe(stack: ScaledStack) -> str:
    p = stack.ports
    return f"""run-scaled: ready in {stack.startup_s:.0f} s (logs in {stack.workdir / 'logs'}).
  chat widget:    {stack.web_url}/widget    agent console: {stack.web_url}/console (demo token: demo-agent-token)
  Rasa (HAProxy): {stack.rasa_url}  ->  rasa1 :{p['rasa1']}, rasa2 :{p['rasa2']}
                  curl -s {stack.rasa_url}/webhooks/rest/webhook -d '{{"sender":"b_demo_1","message":"你好"}}'
  actions:        {stack.url('actions_lb')}  ->  actions1 :{p['actions1']}, actions2 :{p['actions2']}
  web service:    :{p['web']} (behind HAProxy :{p['web_lb']})     HAProxy stats: {stack.url('stats')}/
  PostgreSQL:     {stack.db_url} (orders, ledger) and database {TRACKER_DB} (Rasa's trackers); data {stack.pg_data}
  Redis:          127.0.0.1:{p['redis']} (RedisLockStore, lock lifetime {LOCK_LIFETIME_S} s)
  Ctrl-C stops everything."""


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.scaled", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--model", help="default: the newest models/*.tar.gz")
    parser.add_argument("--workdir", default=str(PROJECT_ROOT / "var" / "scaled"))
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        print("no trained model: run scripts/train_if_stale.sh", file=sys.stderr)
        return 2
    stack = start_scaled_stack(model, Path(args.workdir), dict(FIXED_PORTS))
    print(describe(stack), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("run-scaled: a server stopped; see the logs", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
