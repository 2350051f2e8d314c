"""/api/health: is the database reachable, is the Celery broker reachable."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from tenants.db import get_engine


def database_ok() -> bool:
    """Whether a trivial query succeeds."""
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


async def health(_request: Request) -> JSONResponse:
    """200 when the database and the broker answer, 503 otherwise."""
    from prm_saas.celery_app import broker_ok  # imported lazily: Celery is heavy

    db = await run_in_threadpool(database_ok)
    broker = await run_in_threadpool(broker_ok)
    return JSONResponse(
        {"status": "ok" if db and broker else "degraded", "database": db, "broker": broker},
        status_code=200 if db and broker else 503,
    )


ROUTES: list[BaseRoute] = [Route("/api/health", health, methods=["GET"])]
