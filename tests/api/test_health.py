"""/api/health: database and broker reachability, through the real Starlette app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from prm_saas.api.app import create_api
from prm_saas.celery_app import app as celery_app
from prm_saas.celery_app import broker_ok

# kombu's SQLAlchemy transport still uses a loader strategy SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


def get_health() -> httpx.Response:
    """GET /api/health on a fresh Starlette app, in process."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_api())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get("/api/health")

    return asyncio.run(call())


@pytest.fixture
def restore_broker_url() -> Iterator[None]:
    """Lets a test point the app's broker elsewhere; restored afterwards."""
    old = celery_app.conf.broker_url
    yield
    celery_app.conf.broker_url = old


def test_health_is_ok_when_the_database_and_the_broker_answer() -> None:
    # given the test database and the configured broker (SQLite file, or Redis if REDIS_URL)
    # when the health endpoint is called
    r = get_health()
    # then both answer
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.usefixtures("restore_broker_url")
@pytest.mark.parametrize(
    "unreachable",
    [
        "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "sqla+sqlite:////nonexistent-dir/celery-broker.sqlite",
    ],
)
def test_health_is_503_when_the_broker_is_unreachable(unreachable: str) -> None:
    # given a broker URL nothing answers at
    celery_app.conf.broker_url = unreachable
    # when the health endpoint is called
    r = get_health()
    # then it says so, and the database is still reported reachable
    assert r.status_code == 503
    assert r.json() == {"status": "degraded", "database": True, "broker": False}


def test_broker_ok_gives_up_quickly_on_a_host_that_never_answers() -> None:
    # 192.0.2.0/24 is reserved for documentation: nothing there ever answers.
    started = time.monotonic()
    assert broker_ok("redis://192.0.2.1:6379/0", timeout=0.5) is False
    assert time.monotonic() - started < 3
