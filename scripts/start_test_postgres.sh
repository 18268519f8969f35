#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store tests and print its SQLAlchemy URL on stdout:
#
#   export AFTERSALES_TEST_PG_URL=$(scripts/start_test_postgres.sh)
#   scripts/start_test_postgres.sh --stop        # stop it and delete its files
#
# - Installs Debian's `postgresql` package when no server binaries are found (apt-get, non-interactive).
# - Creates the cluster in $PGTEST_DIR (default /tmp/aftersales-test-pg), owned by the `postgres` user
#   (initdb refuses to run as root), listening on 127.0.0.1 on a free port, trust authentication:
#   it holds nothing but test data and is reachable only from this machine.
# - Idempotent: when the cluster in $PGTEST_DIR is already running it just prints the URL again.
# Everything except the URL goes to stderr, so the command substitution above captures only the URL.
set -euo pipefail

PGTEST_DIR=${PGTEST_DIR:-/tmp/aftersales-test-pg}
DB_NAME=${PGTEST_DB:-aftersales_test}
DATA="$PGTEST_DIR/data"
PG_USER=postgres

log() { echo "start_test_postgres: $*" >&2; }

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

install_postgres() {
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's package would create and start its own cluster on 5432; we do not want or need it.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/aftersales-no-main.conf
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
}

as_pg() { runuser -u "$PG_USER" -- "$@"; }

free_port() {
  python3 - <<'PY' 2>/dev/null || echo 54329
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

url() { echo "postgresql+psycopg2://$PG_USER@127.0.0.1:$(cat "$PGTEST_DIR/port")/$DB_NAME"; }

stop_cluster() {
  local bindir
  bindir=$(find_bindir) || exit 0
  if [ -f "$DATA/PG_VERSION" ]; then
    as_pg "$bindir/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
  fi
  rm -rf "$PGTEST_DIR"
  log "stopped and removed $PGTEST_DIR"
}

main() {
  [ "${1:-}" = "--stop" ] && { stop_cluster; return; }
  [ "$(id -u)" = 0 ] || { log "must run as root (it runs the server as the '$PG_USER' user)"; exit 1; }

  local bindir
  bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir); } \
    || { log "no PostgreSQL server binaries after installing"; exit 1; }
  id "$PG_USER" >/dev/null 2>&1 || { log "user '$PG_USER' missing (the Debian package creates it)"; exit 1; }

  if [ -f "$DATA/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "already running ($PGTEST_DIR)"
    url
    return
  fi

  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$PGTEST_DIR"
    mkdir -p "$PGTEST_DIR"
    chown "$PG_USER" "$PGTEST_DIR"
    log "initdb in $DATA"
    as_pg "$bindir/initdb" -D "$DATA" --auth=trust --encoding=UTF8 --locale=C.UTF-8 -U "$PG_USER" >/dev/null
  fi

  local port
  port=$(free_port)
  echo "$port" > "$PGTEST_DIR/port"
  # Small, fast, disposable: no fsync, sockets in the cluster directory (not /var/run/postgresql).
  as_pg "$bindir/pg_ctl" -D "$DATA" -l "$PGTEST_DIR/server.log" -w -t 30 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGTEST_DIR -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" >&2 \
    || { log "server did not start; see $PGTEST_DIR/server.log"; tail -5 "$PGTEST_DIR/server.log" >&2; exit 1; }

  if ! as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$DB_NAME"
  fi
  log "running on 127.0.0.1:$port, database $DB_NAME"
  url
}

main "$@"
