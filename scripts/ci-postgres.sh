#!/usr/bin/env bash
# Makes sure a PostgreSQL server listens on 127.0.0.1:5432 with user postgres / password postgres,
# for the persist PostgreSQL consensus tests. Installs Debian's postgresql if it is missing.
# Safe to run again: an already running server is left as it is.
set -euo pipefail
if PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "PostgreSQL already running on 127.0.0.1:5432"
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start || true
for _ in $(seq 1 30); do
  if su postgres -c "psql -Atc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
su postgres -c "psql -qc \"alter user postgres password 'postgres'\""
PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select version()'
