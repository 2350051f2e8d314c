#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks.
#
#   scripts/pg.sh start   install PostgreSQL if missing, initdb once, start, create roles/dbs
#   scripts/pg.sh env     print the export lines the tests read
#   scripts/pg.sh stop    stop the cluster
#   scripts/pg.sh status  exit 0 when the cluster is running
#
# PRM_PG_DB=prm_test_x (for start and env) gives a run a database of its own.
#
# Typical use:   scripts/pg.sh start && eval "$(scripts/pg.sh env)" && .venv/bin/pytest -q
#
# The cluster lives in "$PRM_VAR_DIR/pg" (default <repo>/var/pg), listens on
# 127.0.0.1:${PRM_PG_PORT:-55432} and on a unix socket in that directory, and
# is owned by the `postgres` system user when run as root (postgres refuses to
# run as root). It is a throwaway: fsync is off.
#
# Roles, as in production:
#   prm_owner  owns the databases, the schema and every table; migrations, cleanup and
#              maintenance run as it. BYPASSRLS: a data migration or a test's check
#              "below the wall" must see every tenant's rows (FORCE ROW LEVEL SECURITY
#              would otherwise make it silently touch none).
#   prm_app    what the application connects as: owns nothing, NOSUPERUSER NOBYPASSRLS,
#              so row-level security applies to every query it runs
# Databases: prm_test (tests), prm_bench (benchmarks/tenancy.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR_DIR="${PRM_VAR_DIR:-$ROOT/var}"
PG_DIR="$VAR_DIR/pg"
DATA="$PG_DIR/data"
LOG="$PG_DIR/postgres.log"
PORT="${PRM_PG_PORT:-55432}"
# The test database; another name gives a run its own (parallel runs in one
# checkout would otherwise drop each other's schema).
TEST_DB="${PRM_PG_DB:-prm_test}"
[[ "$TEST_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "pg.sh: bad PRM_PG_DB" >&2; exit 2; }
HOST=127.0.0.1

log() { echo "pg.sh: $*" >&2; }
die() {
    log "$*"
    exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the cluster's OS user: `postgres` when we are root, else ourselves.
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_bindir() {
    local dirs
    dirs="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V || true)"
    for d in $dirs; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && echo "$d"
    done | tail -n 1
}

install_postgres() {
    log "no PostgreSQL server under /usr/lib/postgresql; installing Debian's postgresql"
    local sudo=()
    is_root || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends postgresql
}

is_running() {
    local bin="$1"
    [ -f "$DATA/PG_VERSION" ] && as_pg "$bin/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

init_cluster() {
    local bin="$1"
    mkdir -p "$PG_DIR"
    if is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' system user (is the postgresql package installed?)"
        chown postgres: "$PG_DIR"
        as_pg test -w "$PG_DIR" ||
            die "user postgres cannot write $PG_DIR (a parent directory is closed); set PRM_VAR_DIR"
    fi
    chmod 700 "$PG_DIR"
    log "initdb $DATA"
    # The bootstrap superuser can only log in over the private unix socket
    # (trust, socket mode 0700); the TCP port accepts only password logins.
    as_pg "$bin/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    cat >>"$DATA/postgresql.conf" <<EOF

# scripts/pg.sh: a private throwaway cluster for tests and benchmarks
listen_addresses = '$HOST'
unix_socket_directories = '$PG_DIR'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
}

psql_super() {
    local bin="$1"
    shift
    as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PORT" -U postgres "$@"
}

# Roles and databases; kept in a variable so a change to it is noticed (below).
ROLES_SQL="$(
    cat <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prm_owner') THEN
    CREATE ROLE prm_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prm_app') THEN
    CREATE ROLE prm_app LOGIN;
  END IF;
END
\$\$;
ALTER ROLE prm_owner LOGIN PASSWORD 'prm_owner' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER ROLE prm_app LOGIN PASSWORD 'prm_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SELECT format('CREATE DATABASE %I OWNER prm_owner', d)
  FROM (SELECT DISTINCT unnest(ARRAY['prm_test', 'prm_bench', '$TEST_DB']) AS d) AS wanted
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec
SQL
)"
ROLES_STAMP="$PG_DIR/roles.sha256"

roles_current() {
    [ -f "$ROLES_STAMP" ] && [ "$(cat "$ROLES_STAMP")" = "$(printf '%s' "$ROLES_SQL" | sha256sum)" ]
}

ensure_roles_and_databases() {
    local bin="$1"
    printf '%s\n' "$ROLES_SQL" | psql_super "$bin" -d postgres
    printf '%s' "$ROLES_SQL" | sha256sum >"$ROLES_STAMP"
}

cmd_start() {
    local bin
    bin="$(pg_bindir)"
    if [ -z "$bin" ]; then
        install_postgres
        bin="$(pg_bindir)"
        [ -n "$bin" ] || die "postgresql installed but no server binaries under /usr/lib/postgresql"
    fi
    if is_running "$bin"; then
        # Already up: nothing to do, unless this script's roles changed since.
        roles_current || ensure_roles_and_databases "$bin"
        return 0
    fi
    [ -f "$DATA/PG_VERSION" ] || init_cluster "$bin"
    as_pg "$bin/pg_ctl" start -w -t 60 -D "$DATA" -l "$LOG" -o "-p $PORT" >/dev/null ||
        die "postgres did not start; see $LOG"
    ensure_roles_and_databases "$bin"
    log "running on $HOST:$PORT (data $DATA)"
}

cmd_stop() {
    local bin
    bin="$(pg_bindir)"
    if [ -n "$bin" ] && is_running "$bin"; then
        as_pg "$bin/pg_ctl" stop -w -m fast -D "$DATA" >/dev/null
        log "stopped"
    fi
}

cmd_status() {
    local bin
    bin="$(pg_bindir)"
    [ -n "$bin" ] && is_running "$bin"
}

cmd_env() {
    cat <<EOF
export DATABASE_URL=postgresql+psycopg://prm_app:prm_app@$HOST:$PORT/$TEST_DB
export MIGRATION_DATABASE_URL=postgresql+psycopg://prm_owner:prm_owner@$HOST:$PORT/$TEST_DB
export PRM_TEST_PG=1
EOF
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
