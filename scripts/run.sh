#!/usr/bin/env bash
# `make run`: set up, seed the demo database, train if stale, start the action server, the Rasa server and
# the web service (widget, console, copilot API, report).
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sentence encoder's OpenMP threads must wait passively on shared cores (bot/sentence_encoder.py).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
scripts/setup.sh
mkdir -p var logs
.venv/bin/python -m bot db seed
# A few weeks of past conversations so the service report has something to show (a no-op once present).
.venv/bin/python -m bot.report seed-history
model=$(scripts/train_if_stale.sh | tail -n 1)

pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

# actions/server.py: rasa_sdk's server with the actions on a thread pool, per-action timings (GET /timings)
.venv/bin/python -m actions.server --port "${ACTIONS_PORT:-5055}" --workers "${ACTION_WORKERS:-2}" > logs/actions.log 2>&1 &
pids+=($!)
# Fail closed (issue 19): outside demo mode the web service needs its secrets; say so before starting anything.
.venv/bin/python -c 'import sys; from bot.web.auth import check_production_settings as c, InsecureSettings as E
try: c()
except E as e: sys.exit(f"run: {e}")'
# Rasa's HTTP API answers only on this machine and only with the token (the web service has it); buyers come
# in through the web service, which sets the sender from their signed token. RASA_INTERFACE=0.0.0.0 opens it.
export AFTERSALES_RASA_TOKEN="${AFTERSALES_RASA_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')}"
.venv/bin/rasa run --model "$model" --enable-api --interface "${RASA_INTERFACE:-127.0.0.1}" \
  --auth-token "$AFTERSALES_RASA_TOKEN" --port "${RASA_PORT:-5005}" \
  --endpoints endpoints.yml --credentials credentials.yml > logs/rasa.log 2>&1 &
pids+=($!)
AFTERSALES_RASA_URL="http://127.0.0.1:${RASA_PORT:-5005}" .venv/bin/python -m bot.web --port "${WEB_PORT:-8000}" \
  > logs/web.log 2>&1 &
pids+=($!)

echo "run: waiting for the servers (logs in logs/)"
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:${RASA_PORT:-5005}/status?token=${AFTERSALES_RASA_TOKEN}" >/dev/null 2>&1 \
     && curl -fs "http://localhost:${ACTIONS_PORT:-5055}/health" >/dev/null 2>&1 \
     && curl -fs "http://localhost:${WEB_PORT:-8000}/api/config" >/dev/null 2>&1; then
    cat <<MSG
run: ready.
  chat widget:    http://localhost:${WEB_PORT:-8000}/widget   (demo buyer picker; embed: /embed.js, see docs/web.md)
  agent console:  http://localhost:${WEB_PORT:-8000}/console  (demo token: demo-agent-token)
  REST channel:   (this machine only) curl -s 127.0.0.1:${RASA_PORT:-5005}/webhooks/rest/webhook -d '{"sender":"b_demo_1","message":"你好"}'
  shell:          .venv/bin/rasa shell --model $model   (in another terminal)
  Ctrl-C stops the servers.
MSG
    wait -n "${pids[@]}"; echo "run: a server stopped; see logs/" >&2; exit 1
  fi
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "run: a server failed to start; see logs/" >&2; tail -20 logs/*.log >&2; exit 1; }; done
  sleep 1
done
echo "run: servers did not come up in 120 s; see logs/" >&2; exit 1
