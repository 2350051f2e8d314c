"""Inbound webhooks from providers: /api/webhooks/<provider>.

Each provider module (Stripe payments, SMS delivery receipts) adds a route
here. A webhook finds its tenant from server-side facts (the account or object
the verified payload names), never from a client-chosen parameter.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
