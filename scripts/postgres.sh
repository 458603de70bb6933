#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks: start | stop | url | status.
# Runs as the `postgres` user from Debian's postgresql package, on 127.0.0.1:${THECLOUD_PG_PORT:-25432}.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
port=${THECLOUD_PG_PORT:-25432}
dir=${THECLOUD_PG_DIR:-/tmp/thecloud-postgres-$port}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
url="postgresql+asyncpg://thecloud:thecloud@127.0.0.1:$port/thecloud"

as_pg() { runuser -u postgres -- "$@"; }

start() {
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed: run 'make setup' (apt-get install postgresql)" >&2; exit 1
  fi
  if [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname='thecloud'" | grep -q 1 ||
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE ROLE thecloud LOGIN SUPERUSER PASSWORD 'thecloud'"
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='thecloud'" | grep -q 1 ||
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE thecloud OWNER thecloud"
}

stop() {
  [ -n "$bin" ] && [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
}

case "${1:-start}" in
  start) start; echo "$url" ;;
  stop) stop ;;
  url) echo "$url" ;;
  status) as_pg "$bin/pg_ctl" -D "$dir" status ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
