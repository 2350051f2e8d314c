#!/usr/bin/env bash
# A private Redis server for tests and local runs (Celery broker, Reflex state).
#
#   scripts/redis.sh start    install Debian's redis-server if missing, start it
#   scripts/redis.sh env      print the export line the app and the tests read
#   scripts/redis.sh stop     stop it
#   scripts/redis.sh status   exit 0 when it answers
#
# Typical use:   scripts/redis.sh start && eval "$(scripts/redis.sh env)" && .venv/bin/pytest -q -m celery
#
# It lives in "$PRM_VAR_DIR/redis" (default <repo>/var/redis) and listens on
# 127.0.0.1:${PRM_REDIS_PORT:-56379} only. It is a throwaway: no persistence.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR_DIR="${PRM_VAR_DIR:-$ROOT/var}"
DIR="$VAR_DIR/redis"
PORT="${PRM_REDIS_PORT:-56379}"
HOST=127.0.0.1

log() { echo "redis.sh: $*" >&2; }

install_redis() {
    log "redis-server not found; installing Debian's redis-server"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq redis-server >/dev/null
}

answers() { redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null | grep -q PONG; }

case "${1:-}" in
    start)
        command -v redis-server >/dev/null || install_redis
        if answers; then
            log "already running on $HOST:$PORT"
            exit 0
        fi
        mkdir -p "$DIR"
        redis-server --bind "$HOST" --port "$PORT" --dir "$DIR" \
            --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
            --save "" --appendonly no --protected-mode yes
        for _ in $(seq 50); do
            answers && { log "running on $HOST:$PORT"; exit 0; }
            sleep 0.1
        done
        log "did not start; see $DIR/redis.log"
        exit 1
        ;;
    env)
        echo "export REDIS_URL=redis://$HOST:$PORT/0"
        ;;
    stop)
        if answers; then
            redis-cli -h "$HOST" -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
            log "stopped"
        fi
        ;;
    status)
        answers
        ;;
    *)
        echo "usage: $0 start|env|stop|status" >&2
        exit 2
        ;;
esac
