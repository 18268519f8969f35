"""The no-op action floor: an action server whose every call does no work, for bench/bench_e2e.py.

    .venv/bin/python bench/noop_actions.py --port P --upstream http://127.0.0.1:5055/webhook

It answers each action call with the answer the real action server gave to the same call of an earlier
conversation, keyed by (action, user turn number, how many times this action already ran in that turn).
The first conversation it sees is forwarded to the upstream (the real action server) and remembered; every
later conversation with the same script gets the remembered answers straight back. Rasa then makes the same
number of action round trips per turn, with the same events coming back, as for the real actions: what is
left is what Rasa's round trips cost (serialising the tracker and domain, HTTP, applying the events).
GET /stats: {"replayed": n, "forwarded": n}.
"""
from __future__ import annotations

import argparse
from typing import Any

import aiohttp
from sanic import Sanic, response


def call_key(call: dict[str, Any]) -> tuple[str, int, int]:
    """(action, user turns so far, earlier runs of this action since the latest user message)."""
    action = call.get("next_action") or ""
    events = (call.get("tracker") or {}).get("events") or []
    user_turns, runs = 0, 0
    for event in events:
        if event.get("event") == "user":
            user_turns, runs = user_turns + 1, 0
        elif event.get("event") == "action" and event.get("name") == action:
            runs += 1
    return action, user_turns, runs


def build_app(upstream: str) -> Sanic:
    app = Sanic("noop_actions")
    answers: dict[tuple[str, int, int], tuple[int, Any]] = {}
    stats = {"replayed": 0, "forwarded": 0}

    @app.before_server_start
    async def open_session(app_, _loop):
        app_.ctx.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    @app.after_server_stop
    async def close_session(app_, _loop):
        await app_.ctx.http.close()

    @app.get("/health")
    async def health(_request):
        return response.json({"status": "ok"})

    @app.get("/stats")
    async def get_stats(_request):
        return response.json({**stats, "answers": len(answers)})

    @app.post("/webhook")
    async def webhook(request):
        call = request.json or {}
        key = call_key(call)
        if key in answers:
            stats["replayed"] += 1
            status, body = answers[key]
            return response.json(body, status=status)
        stats["forwarded"] += 1
        async with app.ctx.http.post(upstream, json=call) as upstream_response:
            status, body = upstream_response.status, await upstream_response.json(content_type=None)
        answers[key] = (status, body)
        return response.json(body, status=status)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the real action server's /webhook URL")
    args = parser.parse_args()
    build_app(args.upstream).run("127.0.0.1", args.port, access_log=False)


if __name__ == "__main__":
    main()
