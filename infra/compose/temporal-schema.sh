#!/bin/sh
# Creates or upgrades Temporal's PostgreSQL schemas (persistence and visibility). temporal-sql-tool's
# create and setup-schema are no-ops on an existing database, so this runs on every `compose up`.
set -eu
sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"; }
schemas=/etc/temporal/schema/postgresql/v12
for db in temporal:temporal temporal_visibility:visibility; do
  name="${db%%:*}"
  sql --db "$name" create
  sql --db "$name" setup-schema -v 0.0
  sql --db "$name" update-schema -d "$schemas/${db#*:}/versioned"
done
