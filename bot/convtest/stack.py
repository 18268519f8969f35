"""Start the whole stack for tests and benchmarks: the action server (actions/server.py) + `rasa run --enable-api`.

Both on free local ports, with a temporary endpoints file and a SQLite tracker store in the work directory
(Rasa's SQLTrackerStore, as `make run` uses: Rasa 3.6's in-memory store rewrites the whole tracker with
only its latest session on every save, so the first event of a conversation started with metadata, and
every earlier session, vanished and the widget's event positions shifted), the order database given by URL and the action server in test mode
(AFTERSALES_TEST_CLOCK=1: metadata may set the clock and the conversation's database). Used by
`python -m bot.convtest`, tests/test_rest_e2e.py and bench/bench_e2e.py. The servers are subprocesses:
bot/ still never imports Rasa.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from bot.settings import PROJECT_ROOT

RASA = PROJECT_ROOT / ".venv" / "bin" / "rasa"
PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
MODEL_ENV = "AFTERSALES_MODEL"
START_TIMEOUT_S = 300


class StackError(RuntimeError):
    """The servers did not come up; the message carries the end of their logs."""


def newest_model(models_dir: Path = PROJECT_ROOT / "models") -> Optional[Path]:
    """AFTERSALES_MODEL if set, else the newest models/*.tar.gz, else None."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_ok(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def demo_shop_database(path: Path) -> str:
    """A migrated SQLite file with the demo shop, as the servers' default database; returns its URL.
    (The conversation runner gives each conversation its own database; this one serves everything else.)"""
    from bot.db.migrate import upgrade
    from bot.db.seed import seed_demo_shop
    from bot.db.session import session_scope

    url = f"sqlite:///{path}"
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
    return url


@dataclass
class RunningStack:
    rasa_url: str  # e.g. http://127.0.0.1:5005
    actions_url: str  # e.g. http://127.0.0.1:5055
    db_url: str
    startup_s: float = 0.0  # from process start to both servers answering
    rasa_token: str = ""  # Rasa's --auth-token, when started with one
    processes: list = field(default_factory=list)
    logs: list = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def log_tails(self, chars: int = 3000) -> str:
        for log in self.logs:
            log.flush()
        return "\n".join(f"--- {Path(log.name).name}\n{Path(log.name).read_text(errors='replace')[-chars:]}"
                         for log in self.logs)

    def stop(self) -> None:
        stop_processes(self.processes, self.logs)
        self.processes, self.logs = [], []


def stop_processes(processes: list, logs: list) -> None:
    """Terminate the servers (kill what is still there after 20 s) and close their log files."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for log in logs:
        log.close()


def action_server_command(port: int, workers: int = 1) -> list[str]:
    """Our action server (rasa_sdk's app, actions on a thread pool, per-action timings), `workers` processes."""
    return [str(PYTHON), "-m", "actions.server", "--port", str(port), "--host", "127.0.0.1",
            "--workers", str(workers)]


def rasa_command(model: Path, port: int, endpoints: Path, auth_token: Optional[str] = None,
                 interface: str = "127.0.0.1") -> list[str]:
    return [str(RASA), "run", "--model", str(model), "--enable-api", "--port", str(port),
            "--interface", interface, *(["--auth-token", auth_token] if auth_token else []),
            "--endpoints", str(endpoints), "--credentials", str(PROJECT_ROOT / "credentials.yml")]


def action_endpoint_yaml(actions_url: str) -> str:
    # enable_selective_domain: Rasa sends the domain (~30 KB of JSON, rebuilt per call) only to the actions
    # domain.yml marks `send_domain` (the form validators, which read the form's slots from it).
    return f'action_endpoint:\n  url: "{actions_url}/webhook"\n  enable_selective_domain: true\n'


def sqlite_tracker_store_yaml(path: Path) -> str:
    # Rasa's SQL store, with pooled connections and WAL on SQLite (actions/tracker_store.py)
    return (f'tracker_store:\n  type: actions.tracker_store.ReconnectingSQLTrackerStore\n  dialect: "sqlite"\n'
            f'  db: "{path}"\n')


def start_stack(model: Path, workdir: Path, db_url: str, *, test_mode: bool = True, action_workers: int = 1,
                legacy_actions: bool = False, timeout_s: float = START_TIMEOUT_S, auth_token: Optional[str] = None,
                interface: str = "127.0.0.1") -> RunningStack:
    """Start both servers and wait until they answer (raises StackError with the logs' ends).
    legacy_actions: `rasa run actions` and the whole domain with every call, as before issue 17 (the
    benchmark's before/after comparison)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    actions_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    tracker_store = sqlite_tracker_store_yaml(workdir.resolve() / "tracker.db")
    if legacy_actions:
        endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n' + tracker_store)
        actions_command = [str(RASA), "run", "actions", "--actions", "actions", "--port", str(actions_port)]
    else:
        endpoints.write_text(action_endpoint_yaml(f"http://127.0.0.1:{actions_port}") + tracker_store)
        actions_command = action_server_command(actions_port, action_workers)
    env = {**os.environ, "AFTERSALES_DB_URL": db_url}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bot.sentence_encoder: the encoder's threads must not spin
    if test_mode:
        env["AFTERSALES_TEST_CLOCK"] = "1"
    stack = RunningStack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", db_url,
                         rasa_token=auth_token or "")
    stack.logs = [open(workdir / name, "w") for name in ("actions.log", "rasa.log")]
    started = time.perf_counter()
    stack.processes = [
        subprocess.Popen(actions_command, cwd=PROJECT_ROOT, env=env, stdout=stack.logs[0], stderr=subprocess.STDOUT),
        subprocess.Popen(rasa_command(model, rasa_port, endpoints, auth_token, interface),
                         cwd=PROJECT_ROOT, env=env, stdout=stack.logs[1], stderr=subprocess.STDOUT),
    ]
    try:
        _wait_until_up(stack, started + timeout_s)
    except BaseException:
        tails = stack.log_tails()
        stack.stop()
        raise StackError(f"the stack did not start:\n{tails}")
    stack.startup_s = time.perf_counter() - started
    return stack


def _wait_until_up(stack: RunningStack, deadline: float) -> None:
    """Rasa's /status answers only once the model is loaded; the action server's /health once it serves."""
    token = f"?token={stack.rasa_token}" if stack.rasa_token else ""
    while not (get_ok(f"{stack.rasa_url}/status{token}") and get_ok(f"{stack.actions_url}/health")):
        if time.perf_counter() > deadline:
            raise StackError("timed out")
        if any(p.poll() is not None for p in stack.processes):
            raise StackError("a server exited")
        time.sleep(0.5)


@contextmanager
def running_stack(model: Path, workdir: Path, db_url: str, **kwargs) -> Iterator[RunningStack]:
    stack = start_stack(model, workdir, db_url, **kwargs)
    try:
        yield stack
    finally:
        stack.stop()
