#!/usr/bin/env bash
# A private localstripe server (a stateful fake Stripe) for tests and local runs.
#
#   scripts/localstripe.sh start    start it (idempotent: a running one is kept)
#   scripts/localstripe.sh env      print the export lines the app and the tests read
#   scripts/localstripe.sh webhook URL   send its events to URL, signed with the
#                                   webhook secret of `env` (e.g. the app's
#                                   http://localhost:3000/api/webhooks/stripe)
#   scripts/localstripe.sh stop     stop it
#   scripts/localstripe.sh status   exit 0 when it answers
#
# Typical use:   scripts/localstripe.sh start && eval "$(scripts/localstripe.sh env)"
#
# It listens on port ${PRM_LOCALSTRIPE_PORT:-58420} (localstripe binds all
# interfaces; it holds only fake test data). pid and log live in
# "$PRM_VAR_DIR/localstripe" (default <repo>/var/localstripe). It always starts
# from scratch: localstripe keeps its state in memory (its pickle file under
# /tmp is shared by every instance on the machine, so it is never loaded).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR_DIR="${PRM_VAR_DIR:-$ROOT/var}"
DIR="$VAR_DIR/localstripe"
PORT="${PRM_LOCALSTRIPE_PORT:-58420}"
HOST=127.0.0.1
BASE="http://$HOST:$PORT"
# Fake keys: localstripe accepts any sk_/pk_ key. Not secrets.
SECRET_KEY="sk_test_localstripe"
PUBLISHABLE_KEY="pk_test_localstripe"
WEBHOOK_SECRET="${PRM_LOCALSTRIPE_WEBHOOK_SECRET:-whsec_localstripe_dev}"

log() { echo "localstripe.sh: $*" >&2; }

answers() { curl -fsS -o /dev/null --max-time 2 "$BASE/js.stripe.com/v3/" 2>/dev/null; }

case "${1:-}" in
    start)
        if answers; then
            log "already running at $BASE"
            exit 0
        fi
        [ -x "$ROOT/.venv/bin/localstripe" ] || { log "missing .venv/bin/localstripe (run scripts/bootstrap.sh --dev)"; exit 1; }
        mkdir -p "$DIR"
        nohup "$ROOT/.venv/bin/localstripe" --port "$PORT" --from-scratch \
            >"$DIR/localstripe.log" 2>&1 </dev/null &
        echo $! >"$DIR/localstripe.pid"
        for _ in $(seq 100); do
            answers && { log "running at $BASE"; exit 0; }
            sleep 0.1
        done
        log "did not start; see $DIR/localstripe.log"
        exit 1
        ;;
    env)
        echo "export PRM_STRIPE_API_BASE=$BASE"
        echo "export STRIPE_SECRET_KEY=$SECRET_KEY"
        echo "export STRIPE_PUBLISHABLE_KEY=$PUBLISHABLE_KEY"
        echo "export STRIPE_WEBHOOK_SECRET=$WEBHOOK_SECRET"
        echo "export STRIPE_JS_URL=$BASE/js.stripe.com/v3/"
        ;;
    webhook)
        url="${2:?usage: $0 webhook URL}"
        curl -fsS -o /dev/null -X POST "$BASE/_config/webhooks/prm" \
            --data-urlencode "url=$url" --data-urlencode "secret=$WEBHOOK_SECRET"
        log "events go to $url"
        ;;
    stop)
        if [ -f "$DIR/localstripe.pid" ]; then
            pid="$(cat "$DIR/localstripe.pid")"
            kill "$pid" 2>/dev/null || true
            rm -f "$DIR/localstripe.pid"
            log "stopped"
        fi
        ;;
    status)
        answers
        ;;
    *)
        echo "usage: $0 start|env|webhook URL|stop|status" >&2
        exit 2
        ;;
esac
