#!/usr/bin/env bash
# Every check, as CI runs it (.ci/run calls exactly this):
#   1. lint and types: ruff check, ruff format --check, mypy
#   2. the tests on SQLite (Celery tests on the kombu SQLAlchemy broker)
#   3. the tests on PostgreSQL, started here from Debian's package, as a non-owner
#      role under row-level security (Celery tests on Redis, also started here)
#   4. the browser tests: the production build served by `reflex run --env prod`,
#      driven in headless Chromium (Debian's package)
# Needs root (for apt-get) on a Debian machine with Python 3.11; installs the rest.
# Extra arguments go to every pytest run (e.g. -x, -k name).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PRM_VAR_DIR="${PRM_VAR_DIR:-$ROOT/var}"
ROOT_VAR="$PRM_VAR_DIR"
mkdir -p "$PRM_VAR_DIR/test-results"
rm -f "$PRM_VAR_DIR"/test-results/*.xml "$PRM_VAR_DIR"/test-results/*.log

step() { printf '\n==== %s ====\n' "$*"; }
fail=0

step "install"
scripts/bootstrap.sh --dev || exit 1
if ! command -v chromium >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null || exit 1
fi
export PATH="$ROOT/.venv/bin:$PATH"
export REFLEX_USE_NPM=1
unset DATABASE_URL MIGRATION_DATABASE_URL REDIS_URL CELERY_BROKER_URL PRM_TEST_PG

step "ruff"
ruff check . || fail=1
ruff format --check . || fail=1
step "mypy"
mypy || fail=1

run_pytest() {  # name, then pytest arguments
    local name="$1"; shift
    step "pytest: $name"
    pytest --junitxml="$ROOT_VAR/test-results/$name.xml" "$@" || fail=1
}

# localstripe (a fake Stripe) for the payment tests and the browser flow; its
# settings are exported for every pytest run below.
scripts/localstripe.sh start >/dev/null || exit 1
eval "$(scripts/localstripe.sh env)"

# The SQLite and PostgreSQL passes run side by side (two cores; the PostgreSQL
# pass waits on the server much of the time), each with its own var directory
# (Celery's default broker file, beat schedule) so they share nothing but
# localstripe. The SQLite pass's output is shown when it has finished.
scripts/pg.sh start >/dev/null || exit 1
scripts/redis.sh start >/dev/null || exit 1
mkdir -p "$PRM_VAR_DIR/pass-sqlite" "$PRM_VAR_DIR/pass-postgresql"
(
    export PRM_VAR_DIR="$PRM_VAR_DIR/pass-sqlite"
    run_pytest sqlite -m "not e2e" "$@"
    exit $fail
) >"$ROOT_VAR/test-results/sqlite.log" 2>&1 &
sqlite_pid=$!
(
    eval "$(scripts/pg.sh env)"
    eval "$(scripts/redis.sh env)"
    export PRM_VAR_DIR="$PRM_VAR_DIR/pass-postgresql"
    run_pytest postgresql -m "not e2e" "$@"
    exit $fail
) || fail=1
wait "$sqlite_pid" || fail=1
cat "$ROOT_VAR/test-results/sqlite.log"

run_pytest browser tests/e2e "$@"

step "summary"
python scripts/test_summary.py "$ROOT_VAR"/test-results/*.xml || fail=1
exit $fail
