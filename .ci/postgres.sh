#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests (sourced by .ci/run).
# Exports ECGLENS_TEST_PG_URL; the server stops when the calling shell exits.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
    echo "PostgreSQL is not installed" >&2
    return 1
fi
PGROOT=$(mktemp -d /tmp/ecglens-pg.XXXXXX)
PGPORT=${ECGLENS_PG_PORT:-55432}
as_pg() {
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$PGROOT"; runuser -u postgres -- "$@"; else "$@"; fi
}
as_pg "$PGBIN/initdb" -D "$PGROOT/data" -A trust -U postgres >"$PGROOT/initdb.log" 2>&1 \
    || { cat "$PGROOT/initdb.log" >&2; return 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w \
    -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
    || { cat "$PGROOT/server.log" >&2; return 1; }
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast stop >/dev/null 2>&1; rm -rf "$PGROOT"' EXIT
export ECGLENS_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
export ECGLENS_REQUIRE_PG=1
