#!/usr/bin/env bash
# Start the Celery worker with embedded beat, for local use.
#
#   scripts/celery.sh [extra `celery worker` options, e.g. -l DEBUG]
#
# Broker (prm_saas.settings): the kombu SQLAlchemy transport on
# var/celery-broker.sqlite by default, Redis when REDIS_URL (or CELERY_BROKER_URL)
# is set, e.g.  scripts/redis.sh start && eval "$(scripts/redis.sh env)" && scripts/celery.sh
# The database is DATABASE_URL (default var/prm.sqlite), as for the web app.
#
# One process: -P solo runs tasks in the worker process itself (the SQLAlchemy
# broker on SQLite is checked to work with it; prefork children would share its
# SQLite engine), and -B runs beat inside the worker with its schedule file under
# var/. Gossip, mingle and heartbeats need a fanout exchange, which that broker
# lacks, and a single local worker has no peers to talk to.
#
# Production runs beat and the workers as separate processes (Redis broker), with
# exactly ONE beat per deployment (two would send every periodic task twice):
#
#   celery -A prm_saas.celery_app beat -l INFO -s /var/lib/prm/celerybeat-schedule
#   celery -A prm_saas.celery_app worker -l INFO -P prefork --concurrency 8 \
#          --max-tasks-per-child 1000 --without-gossip --without-mingle
#
# Scale by adding worker processes/machines, not beats. Stop workers with SIGTERM
# (warm shutdown): with acks_late, a task interrupted harder runs again elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR_DIR="${PRM_VAR_DIR:-$ROOT/var}"
CELERY="$ROOT/.venv/bin/celery"
[ -x "$CELERY" ] || CELERY=celery

mkdir -p "$VAR_DIR"
cd "$ROOT"
exec "$CELERY" -A prm_saas.celery_app worker -B -P solo -l INFO \
    -s "$VAR_DIR/celerybeat-schedule" \
    --without-gossip --without-mingle --without-heartbeat "$@"
