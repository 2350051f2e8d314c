#!/usr/bin/env bash
# Install, migrate, load the demo data and serve the app in production mode at
# http://localhost:3000 on the embedded defaults: SQLite, and a Celery worker with
# beat on the kombu SQLAlchemy broker. No external server is needed.
#
# Environment (all optional): DATABASE_URL, REDIS_URL, PRM_SECRET_KEY, SMTP_HOST...
# (see README "Production"). PRM_PORT changes the port (default 3000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# localstripe (the demo's fake Stripe) comes with the demo extra.
scripts/bootstrap.sh --demo
export PATH="$ROOT/.venv/bin:$PATH"
export REFLEX_USE_NPM=1
PORT="${PRM_PORT:-3000}"
export PRM_PUBLIC_URL="${PRM_PUBLIC_URL:-http://localhost:$PORT}"
mkdir -p var

# localstripe: a fake Stripe for online payment, unless real keys are configured.
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
    scripts/localstripe.sh start
    eval "$(scripts/localstripe.sh env)"
    scripts/localstripe.sh webhook "http://127.0.0.1:$PORT/api/webhooks/stripe"
fi

python -m prm_saas.cli migrate
python -m prm_saas.cli demo

# The worker (with embedded beat) runs beside the web app and stops with it.
scripts/celery.sh >var/celery.log 2>&1 &
# On any exit (Ctrl-C, kill, the web app stopping) stop everything this script started.
trap 'trap - EXIT INT TERM; kill 0 2>/dev/null' EXIT INT TERM
echo "run.sh: Celery worker + beat started (log: var/celery.log)"

reflex run --env prod --single-port --frontend-port "$PORT" --backend-port "$PORT" &
wait $!
