#!/usr/bin/env bash
# A throwaway PostgreSQL for the state-store tests.
#
#   eval "$(hack/ci-postgres.sh start)"   # exports NETPOL_TEST_POSTGRES_URL and NETPOL_PG_DATA
#   hack/ci-postgres.sh stop "$NETPOL_PG_DATA"
#
# start: initdb into a fresh temp dir (as user postgres when run as root),
# listen on 127.0.0.1 on a free port with the unix socket in /tmp, password
# auth over TCP (so the URL carries a password, as production ones do), and
# print shell `export` lines. Logs go to $NETPOL_PG_DATA/server.log.
# stop: stop that server and delete its directory. Idempotent.
#
# Environment: PG_BIN (default: newest /usr/lib/postgresql/*/bin).
set -euo pipefail

log() { echo "ci-postgres: $*" >&2; }

pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" ]]; then
  log "no PostgreSQL server binaries (install the postgresql package, or set PG_BIN)"
  exit 1
fi

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local data port password
  data="$(mktemp -d /tmp/netpol-pg.XXXXXX)"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$data"
  fi
  printf '%s\n' "$password" > "$data/.pwfile"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$data/.pwfile"
  fi
  as_owner "$pg_bin/initdb" -D "$data/db" -U postgres --pwfile="$data/.pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >"$data/initdb.log" 2>&1 \
    || { cat "$data/initdb.log" >&2; exit 1; }
  rm -f "$data/.pwfile"
  for attempt in 1 2 3; do
    port="$(free_port)"
    if as_owner "$pg_bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=/tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null; then
      break
    fi
    log "start on port $port failed (attempt $attempt):"
    tail -n 5 "$data/server.log" >&2 || true
    [[ "$attempt" == 3 ]] && exit 1
  done
  log "PostgreSQL running on 127.0.0.1:$port (data $data)"
  echo "export NETPOL_TEST_POSTGRES_URL='postgresql://postgres:${password}@127.0.0.1:${port}/postgres'"
  echo "export NETPOL_PG_DATA='$data'"
}

stop() {
  local data="${1:-}"
  [[ -n "$data" && -d "$data" ]] || return 0
  if [[ -f "$data/db/postmaster.pid" ]]; then
    as_owner "$pg_bin/pg_ctl" -D "$data/db" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DATA_DIR" >&2; exit 2 ;;
esac
