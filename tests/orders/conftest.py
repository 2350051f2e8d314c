"""Orders tests run against a real localstripe server, never a mock of Stripe.

If PRM_STRIPE_API_BASE is set (scripts/test.sh starts localstripe and exports
it), that server is used; otherwise this session starts its own localstripe on
a free port and stops it at the end. So the tests never skip for want of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localstripe import run_localstripe


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a running localstripe; Stripe settings point at it."""
    with run_localstripe() as base:
        yield base


@pytest.fixture(autouse=True)
def _stripe(localstripe: str) -> str:
    """Every orders test talks to localstripe."""
    return localstripe
