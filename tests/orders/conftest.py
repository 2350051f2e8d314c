"""Orders tests run against a real localstripe server, never a mock of Stripe.

If PRM_STRIPE_API_BASE is set (scripts/test.sh starts localstripe and exports
it), that server is used; otherwise this session starts its own localstripe on
a free port and stops it at the end. So the tests never skip for want of it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from prm_saas.settings import get_settings

WEBHOOK_SECRET = "whsec_orders_tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=2) as r:  # noqa: S310
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a running localstripe; Stripe settings point at it."""
    base = os.environ.get("PRM_STRIPE_API_BASE", "").rstrip("/")
    proc: subprocess.Popen[bytes] | None = None
    saved = {
        k: os.environ.get(k)
        for k in (
            "PRM_STRIPE_API_BASE",
            "STRIPE_SECRET_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "STRIPE_JS_URL",
        )
    }
    if not base:
        port = _free_port()
        exe = Path(sys.executable).with_name("localstripe")
        proc = subprocess.Popen(
            [str(exe), "--port", str(port), "--from-scratch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            if _answers(base):
                break
            time.sleep(0.1)
    if not _answers(base):
        if proc is not None:
            proc.kill()
        pytest.fail(f"localstripe does not answer at {base}")
    os.environ["PRM_STRIPE_API_BASE"] = base
    os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_localstripe")
    os.environ.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    os.environ["STRIPE_WEBHOOK_SECRET"] = os.environ.get("STRIPE_WEBHOOK_SECRET") or WEBHOOK_SECRET
    os.environ["STRIPE_JS_URL"] = f"{base}/js.stripe.com/v3/"
    get_settings.cache_clear()
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def _stripe(localstripe: str) -> str:
    """Every orders test talks to localstripe."""
    return localstripe
