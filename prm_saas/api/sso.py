"""OpenID Connect routes for staff single sign-on (filled in by the SSO work)."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
