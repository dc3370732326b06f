#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the multi-machine search tests and print its URL.
# Installs the distribution's package when the server binaries are missing.
# `postgres.sh stop` stops the server of the same NAS_PG_DATA folder and deletes that folder.
set -euo pipefail
port="${NAS_PG_PORT:-54329}"
data="${NAS_PG_DATA:-/tmp/nas-ci-pgdata}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = stop ]; then
  if [ -n "$bindir" ] && [ -d "$data" ]; then
    as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2 || true
    rm -rf "$data"
  fi
  exit 0
fi
if [ -z "$bindir" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  rm -rf "$data"; mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  as_pg "$bindir/initdb" -D "$data" --auth=trust -U postgres >/dev/null
  as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c max_connections=200" start >&2
fi
as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='nas_test'" | grep -q 1 \
  || as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres nas_test
echo "postgresql://postgres@127.0.0.1:$port/nas_test"
