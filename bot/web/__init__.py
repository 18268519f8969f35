"""The bot web service (Sanic): the buyer's chat widget, its embed snippet, photo uploads, the agent
console and the copilot JSON API. Start it with `python -m bot.web` (scripts/run.sh does). See docs/web.md."""
