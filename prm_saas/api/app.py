"""The Starlette app that carries every non-Reflex HTTP route."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from prm_saas.api import billing, health, messaging, payments, sso, tracking, webhooks


def routes() -> list[BaseRoute]:
    """All HTTP routes, in match order."""
    return [
        *health.ROUTES,
        *sso.ROUTES,
        *webhooks.ROUTES,
        *payments.ROUTES,
        *billing.ROUTES,
        *messaging.ROUTES,
        *tracking.ROUTES,
    ]


def create_api() -> Starlette:
    """A fresh Starlette app with every route (Reflex mounts itself under it)."""
    return Starlette(routes=routes())
