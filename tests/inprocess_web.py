"""Serve a Sanic app from a background thread for a test module: one helper, shared by the web test files.

Sanic 21.12 rewrites some of its own methods ("touch-up") the first time an app starts; a second app started
in the same process then fails inside that rewrite (KeyError: 'read'), silently, in the server thread. In
test mode Sanic keeps the original methods and rewrites from them each time, so several apps can start.
"""
from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Iterator

from sanic import Sanic

from bot.convtest.stack import free_port


@contextmanager
def serving(app: Sanic, start_timeout: float = 20) -> Iterator[str]:
    """Yields the app's base URL while it serves on a free local port; stops it afterwards."""
    Sanic.test_mode = True
    port, loop, started = free_port(), asyncio.new_event_loop(), threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(app.create_server(host="127.0.0.1", port=port,
                                                               return_asyncio_server=True, access_log=False))
            loop.run_until_complete(server.startup())
        except BaseException as exc:  # reported by the test thread below, not lost in this one
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(start_timeout), "web service did not start in time"
    if failure:
        raise RuntimeError(f"web service failed to start: {failure[0]!r}") from failure[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
