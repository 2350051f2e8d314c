"""Inbound webhooks from providers: /api/webhooks/<provider>.

Each provider module (Stripe payments, SMS delivery receipts) adds a route
here. A webhook finds its tenant from server-side facts (the account or object
the verified payload names), never from a client-chosen parameter.

POST /api/webhooks/sms/<tenant id>
    Delivery receipts and inbound replies from the tenant's SMS provider (the
    contract is in prm_saas.messaging.webhooks). The id in the path only says
    whose secret to check: the request acts in that tenant only if it is signed
    with that tenant's webhook secret. 404 for an unknown tenant, 403 for any
    signature problem (one body, whatever the reason), 400 for a signed body
    we cannot read, 503 while the tenant cannot record it (suspended), 200
    otherwise, also for an event already received.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.messaging.webhooks import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookForbidden,
    WebhookInvalid,
    WebhookResult,
    handle_sms_webhook,
)
from tenants.db import tenant_session
from tenants.errors import NotFound, TenantReadOnly

_NO_STORE = {"Cache-Control": "no-store"}
_MAX_ID = 2**31 - 1  # ids are 32-bit integers; a larger one names no tenant


def _json(payload: dict[str, str], status: int, **headers: str) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers={**_NO_STORE, **headers})


def _handle_sms(tenant_id: int, body: bytes, timestamp: str, signature: str) -> WebhookResult:
    with tenant_session(tenant_id) as session:
        return handle_sms_webhook(
            session=session, body=body, timestamp=timestamp, signature=signature
        )


async def sms_webhook(request: Request) -> Response:
    """A delivery receipt or an inbound SMS for the tenant in the path."""
    tenant_id = int(request.path_params["tenant_id"])
    if tenant_id > _MAX_ID:
        return _json({"error": "not found"}, 404)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _json({"error": "too large"}, 413)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _json({"error": "too large"}, 413)
    try:
        result = await run_in_threadpool(
            _handle_sms,
            tenant_id,
            body,
            request.headers.get(TIMESTAMP_HEADER, ""),
            request.headers.get(SIGNATURE_HEADER, ""),
        )
    except NotFound:
        return _json({"error": "not found"}, 404)
    except WebhookForbidden:
        return _json({"error": "forbidden"}, 403)
    except WebhookInvalid as exc:
        return _json({"error": str(exc)}, 400)
    except TenantReadOnly:
        # Nothing was recorded; the provider retries later, when the tenant may be back.
        return _json({"error": "unavailable"}, 503, **{"Retry-After": "3600"})
    return _json({"status": result.outcome, "id": result.event_id}, 200)


ROUTES: list[BaseRoute] = [
    Route("/api/webhooks/sms/{tenant_id:int}", sms_webhook, methods=["POST"], name="sms_webhook"),
]
