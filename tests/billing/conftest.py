"""Billing tests run against a real localstripe server, never a mock of Stripe
(tests/localstripe.py: the one from scripts/test.sh, or one started for the session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localstripe import run_localstripe


@pytest.fixture(scope="package")
def localstripe() -> Iterator[str]:
    """The base URL of a running localstripe; Stripe settings point at it while this
    package's tests run (and are put back after, for tests that expect no Stripe)."""
    with run_localstripe() as base:
        yield base


@pytest.fixture(autouse=True)
def _stripe(localstripe: str) -> str:
    """Every billing test talks to localstripe."""
    return localstripe
