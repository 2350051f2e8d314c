"""A real localstripe server for tests (never a mock of Stripe).

If PRM_STRIPE_API_BASE is set (scripts/test.sh starts localstripe and exports
it), that server is used; otherwise a localstripe is started on a free port for
the session and stopped at the end, so tests never skip for want of it. While
it runs, the Stripe settings (environment + the settings cache) point at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prm_saas.settings import get_settings
from tests.smtp_sink import free_port

WEBHOOK_SECRET = "whsec_orders_tests"
STRIPE_ENV = (
    "PRM_STRIPE_API_BASE",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_JS_URL",
)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=2) as r:  # noqa: S310
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def run_localstripe() -> Iterator[str]:
    """Yield the base URL of a running localstripe with the settings pointing at it."""
    base = os.environ.get("PRM_STRIPE_API_BASE", "").rstrip("/")
    proc: subprocess.Popen[bytes] | None = None
    saved = {k: os.environ.get(k) for k in STRIPE_ENV}
    if not base:
        port = free_port()
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
        raise RuntimeError(f"localstripe does not answer at {base}")
    os.environ["PRM_STRIPE_API_BASE"] = base
    os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_localstripe")
    os.environ.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    os.environ["STRIPE_WEBHOOK_SECRET"] = os.environ.get("STRIPE_WEBHOOK_SECRET") or WEBHOOK_SECRET
    os.environ["STRIPE_JS_URL"] = f"{base}/js.stripe.com/v3/"
    get_settings.cache_clear()
    try:
        yield base
    finally:
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
