#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL from Debian's packages, listening on 127.0.0.1:5432,
# with the password "postgres" for the role postgres. Prints the admin URL, and nothing else, on stdout:
# everything the tools say (e.g. pg_ctlcluster's "Removed stale pid file.") goes to stderr, and the
# server started here never holds the caller's stdout (a `$(bash .ci/pg.sh)` would wait for it forever).
set -euo pipefail

start_postgresql() {
  if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql
  fi
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main
  fi
  pg_ctlcluster "$version" main start || true
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 1
  done
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
}

start_postgresql >&2
echo "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
