#!/usr/bin/env bash
# `make run-scaled`: the scaled stack on this machine (bot/scaled.py): PostgreSQL and Redis servers of its own,
# two action servers, two Rasa instances (SQLTrackerStore + RedisLockStore, endpoints.scaled.yml), the web
# service, HAProxy in front. Data and logs in var/scaled/. Ctrl-C stops everything it started.
# Needs Debian's redis-server, haproxy and postgresql (installed here when missing; run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v haproxy >/dev/null || need+=(haproxy)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "run-scaled: installing ${need[*]}" >&2
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/aftersales-no-main.conf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
model=$(scripts/train_if_stale.sh | tail -n 1)
exec .venv/bin/python -m bot.scaled run --model "$model" "$@"
