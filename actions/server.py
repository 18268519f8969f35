"""The action server: rasa_sdk's own app, with a timing profile and the actions' work off the event loop.

    python -m actions.server --port 5055 [--workers N]

What it adds to `rasa run actions`:
- every action call runs in a thread pool (`AFTERSALES_ACTION_THREADS`, default 8): our actions call the
  database synchronously (SQLAlchemy), and on the event loop one slow query held every other conversation;
- a timing profile: one log line per call (`action_timing action=… ms=… tracker_events=… bytes=…`) and
  GET /timings with count, mean, p50, p95 per action for this worker process (`pid` says which worker);
- `--workers N` Sanic worker processes on one port (each its own pool and database connections); the
  actions keep no conversation state between calls, so any worker (or any action server) may take any call.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Deque, Dict, Optional

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import ActionNotFoundException, Tracker
from sanic import Sanic, response

logger = logging.getLogger("actions.timing")

THREADS_ENV = "AFTERSALES_ACTION_THREADS"
DEFAULT_THREADS = 8
SAMPLES_PER_ACTION = 2000  # the profile keeps the latest samples of each action


class Profile:
    """Per-action wall times of this process (thread-safe; the latest SAMPLES_PER_ACTION of each)."""

    def __init__(self) -> None:
        self._samples: Dict[str, Deque[float]] = defaultdict(lambda: deque(maxlen=SAMPLES_PER_ACTION))
        self._counts: Dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, action: str, seconds: float) -> None:
        with self._lock:
            self._samples[action].append(seconds)
            self._counts[action] += 1

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()
            self._counts.clear()

    def summary(self) -> Dict[str, Dict[str, float]]:
        with self._lock:
            items = {name: sorted(values) for name, values in self._samples.items()}
            counts = dict(self._counts)
        out = {}
        for name, ordered in items.items():
            if not ordered:
                continue
            out[name] = {"count": counts[name], "mean_ms": round(1000 * sum(ordered) / len(ordered), 2),
                         "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
                         "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}
        return out


class ThreadedExecutor(ActionExecutor):
    """rasa_sdk's executor, but the action (tracker parsing included) runs on a worker thread with its own
    event loop, so the server's loop keeps accepting and answering other calls meanwhile."""

    def __init__(self, pool: ThreadPoolExecutor, profile: Profile) -> None:
        super().__init__()
        self._pool = pool
        self._profile = profile
        self._local = threading.local()

    async def run(self, action_call: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        action_name = action_call.get("next_action")
        if not action_name:
            logger.warning("an action call without an action")
            return None
        if action_name not in self.actions:
            raise ActionNotFoundException(action_name)
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._run_here, action_call)
        finally:
            seconds = time.perf_counter() - started
            self._profile.add(action_name, seconds)
            logger.info("action_timing action=%s ms=%.1f tracker_events=%d", action_name, seconds * 1000,
                        len((action_call.get("tracker") or {}).get("events") or ()))

    def _run_here(self, action_call: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        loop = getattr(self._local, "loop", None)
        if loop is None:  # one loop per worker thread, kept for the thread's life
            loop = self._local.loop = asyncio.new_event_loop()
        action_name = action_call["next_action"]
        tracker = Tracker.from_dict(action_call["tracker"])
        dispatcher = CollectingDispatcher()
        action = self.actions[action_name]
        events = loop.run_until_complete(
            utils.call_potential_coroutine(action(dispatcher, tracker, action_call.get("domain", {}))))
        validated = self.validate_events(events or [], action_name)
        return self._create_api_response(validated, dispatcher.messages)


def build_app(package: str = "actions", threads: Optional[int] = None) -> Sanic:
    """rasa_sdk's app (its /webhook, /health, /actions and error handling) on our executor."""
    threads = threads or int(os.environ.get(THREADS_ENV) or DEFAULT_THREADS)
    app = create_app(package)
    profile = Profile()
    executor = ThreadedExecutor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="action"), profile)
    executor.register_package(package)
    _swap_executor(app, executor)
    app.ctx.profile = profile

    @app.get("/timings")
    async def timings(request):
        if request.args.get("reset"):
            profile.reset()
        return response.json({"pid": os.getpid(), "threads": threads, "actions": profile.summary()})

    return app


def _swap_executor(app: Sanic, executor: ActionExecutor) -> None:
    """create_app's webhook closes over its own executor; point that closure at ours (same handler code,
    so the request checks, status codes and error bodies stay rasa_sdk's)."""
    handler = app.router.routes_all[("webhook",)].handler
    for cell in handler.__closure__ or ():
        if isinstance(cell.cell_contents, ActionExecutor):
            cell.cell_contents = executor
            return
    raise RuntimeError("rasa_sdk's webhook handler has no executor to replace (rasa_sdk changed?)")


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--host", default=os.environ.get("SANIC_HOST", "0.0.0.0"))
    parser.add_argument("--workers", type=int, default=1, help="Sanic worker processes on the port")
    parser.add_argument("--actions", default="actions", help="the package holding the actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    app = build_app(args.actions)
    app.run(args.host, args.port, workers=args.workers, access_log=False)


if __name__ == "__main__":
    main()
