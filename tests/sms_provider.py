"""A real HTTP SMS provider for tests, served by uvicorn on 127.0.0.1.

It speaks the contract of prm_saas.messaging.channels.SmsChannel:

``POST /messages`` with JSON ``{"to", "from", "text", "callback_url", "client_ref"}``,
``Authorization: Bearer <api key>`` and ``Idempotency-Key``; answers
``{"id": "<provider message id>"}``. A repeated Idempotency-Key gets the first
answer again and is not a new message. Unknown key: 401. Missing fields: 400.

And it calls back the way a provider does, signed with the account's webhook
secret (prm_saas.messaging.webhooks documents the contract; the signing here is
written out independently, so the tests check the contract, not one function
against itself): ``X-PRM-Timestamp: <unix seconds>`` and ``X-PRM-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``.

Usage::

    with run_sms_provider() as sms:
        account = sms.add_account()           # api_key, webhook_secret
        ...                                   # configure a tenant with sms.url + account
        sms.fail_next(2, status=503)          # the next two requests fail
        sms.send_receipt(sms.messages[0].provider_id, status="delivered")
        sms.send_inbound(account, from_="+8613800000001", text="STOP", url=webhook_url)

The ``sms_provider`` and ``app_server`` fixtures start it and the app's HTTP
routes (with PRM_PUBLIC_URL pointing at them, so the callback URLs the engine
builds reach the app).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prm_saas.accounts.authz import Principal
from prm_saas.api.app import create_api
from prm_saas.messaging.channels import ChannelAdapter
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import Channel, Message
from prm_saas.messaging.outbox import claim_due, enqueue
from prm_saas.messaging.preferences import update_messaging_settings
from prm_saas.settings import get_settings
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.oidc_provider import serve_app


@dataclass(frozen=True)
class Account:
    """One customer account at the provider (one per tenant)."""

    api_key: str
    webhook_secret: str
    sender: str = "PRMCLINIC"


@dataclass(frozen=True)
class SentSms:
    """A message the provider accepted (once per idempotency key)."""

    provider_id: str
    account: Account
    to: str
    sender: str
    text: str
    callback_url: str
    client_ref: str
    idempotency_key: str
    authorization: str


@dataclass(frozen=True)
class Callback:
    """A webhook the provider sent, and what the app answered."""

    url: str
    body: bytes
    status_code: int
    answer: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The provider's X-PRM-Signature for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


@dataclass
class SmsProvider:
    """The provider's state; ``url`` is set once the server listens."""

    url: str = ""
    accounts: dict[str, Account] = field(default_factory=dict)
    messages: list[SentSms] = field(default_factory=list)
    requests: int = 0  # every POST /messages, failed and repeated ones included
    requests_per_key: Counter[str] = field(default_factory=Counter)
    callbacks: list[Callback] = field(default_factory=list)
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _failures: list[tuple[int, str]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- set-up -----------------------------------------------------------------

    def add_account(self, *, sender: str = "PRMCLINIC") -> Account:
        """A new account with a random API key and webhook secret."""
        account = Account(
            api_key=secrets.token_urlsafe(18),
            webhook_secret=secrets.token_urlsafe(24),
            sender=sender,
        )
        self.accounts[account.api_key] = account
        return account

    def fail_next(self, n: int = 1, *, status: int = 503, error: str = "") -> None:
        """Answer the next ``n`` requests with ``status`` (500/503: transient;
        400: permanent, e.g. an invalid number). Failed answers are not remembered
        under their idempotency key, so a retry can succeed."""
        with self._lock:
            self._failures += [(status, error or f"simulated {status}")] * n

    # --- what happened ----------------------------------------------------------------

    def accepted_count(self, idempotency_key: str) -> int:
        """Messages accepted under the key (0 or 1, however often it was sent)."""
        return sum(1 for m in self.messages if m.idempotency_key == idempotency_key)

    def message(self, provider_id: str) -> SentSms:
        """The accepted message with this id."""
        found = [m for m in self.messages if m.provider_id == provider_id]
        assert found, f"no message {provider_id}; have {[m.provider_id for m in self.messages]}"
        return found[0]

    # --- the HTTP API -----------------------------------------------------------------

    async def post_message(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        key = request.headers.get("idempotency-key", "")
        with self._lock:
            self.requests += 1
            self.requests_per_key[key] += 1
            if self._failures:
                status, error = self._failures.pop(0)
                return JSONResponse({"error": error}, status_code=status)
        account = self.accounts.get(header[7:]) if header.startswith("Bearer ") else None
        if account is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        fields = ("to", "from", "text", "callback_url", "client_ref")
        if not key or not isinstance(body, dict) or any(not body.get(f) for f in fields):
            return JSONResponse({"error": "missing field or Idempotency-Key"}, status_code=400)
        if not str(body["to"]).startswith("+"):
            return JSONResponse({"error": "invalid number"}, status_code=400)
        with self._lock:
            answer = self._answers.get(f"{account.api_key}:{key}")
            if answer is None:
                provider_id = f"SM{next(self._ids):06d}"
                self.messages.append(
                    SentSms(
                        provider_id=provider_id,
                        account=account,
                        to=body["to"],
                        sender=body["from"],
                        text=body["text"],
                        callback_url=body["callback_url"],
                        client_ref=body["client_ref"],
                        idempotency_key=key,
                        authorization=header,
                    )
                )
                answer = (200, {"id": provider_id, "status": "accepted"})
                self._answers[f"{account.api_key}:{key}"] = answer
        return JSONResponse(answer[1], status_code=answer[0])

    def app(self) -> Starlette:
        """The provider as an ASGI app."""
        return Starlette(routes=[Route("/messages", self.post_message, methods=["POST"])])

    # --- callbacks ---------------------------------------------------------------------

    def post_signed(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        secret: str,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST ``payload`` to ``url`` signed with ``secret`` (``signature`` overrides)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json",
            "X-PRM-Timestamp": ts,
            "X-PRM-Signature": sign(secret, ts, body) if signature is None else signature,
        }
        r = httpx.post(url, content=body, headers=headers, timeout=10)
        with self._lock:
            self.callbacks.append(Callback(url, body, r.status_code, r.text))
        return r

    def send_receipt(
        self,
        provider_id: str,
        *,
        status: str = "delivered",
        event_id: str | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """A delivery receipt for an accepted message, to its callback URL."""
        sms = self.message(provider_id)
        return self.post_signed(
            url or sms.callback_url,
            {
                "type": "receipt",
                "id": event_id or f"evt_{secrets.token_hex(8)}",
                "message_id": provider_id,
                "client_ref": sms.client_ref,
                "status": status,
                "to": sms.to,
            },
            secret=sms.account.webhook_secret,
        )

    def send_inbound(
        self,
        account: Account,
        *,
        from_: str,
        text: str,
        url: str,
        event_id: str | None = None,
    ) -> httpx.Response:
        """A reply from a phone to the account's sender, to the account's inbound URL."""
        return self.post_signed(
            url,
            {
                "type": "inbound",
                "id": event_id or f"evt_{secrets.token_hex(8)}",
                "from": from_,
                "to": account.sender,
                "text": text,
            },
            secret=account.webhook_secret,
        )


@contextmanager
def run_sms_provider() -> Iterator[SmsProvider]:
    """Start a provider on a free 127.0.0.1 port; yields it with ``url`` set."""
    provider = SmsProvider()
    with serve_app(provider.app()) as url:
        provider.url = url
        yield provider


@contextmanager
def public_url(url: str) -> Iterator[None]:
    """PRM_PUBLIC_URL is ``url`` for the block (links and callback URLs the engine builds)."""
    saved = os.environ.get("PRM_PUBLIC_URL")
    os.environ["PRM_PUBLIC_URL"] = url
    get_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PRM_PUBLIC_URL", None)
        else:
            os.environ["PRM_PUBLIC_URL"] = saved
        get_settings.cache_clear()


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    """A running SMS provider."""
    with run_sms_provider() as provider:
        yield provider


@pytest.fixture
def app_server() -> Iterator[str]:
    """The app's HTTP routes (create_api()) on a real port; PRM_PUBLIC_URL points at it.
    Yields the base URL."""
    with serve_app(create_api()) as url, public_url(url):
        yield url


def sms_webhook_url(base_url: str, tenant: TenantInfo) -> str:
    """Where a tenant's SMS provider sends receipts and replies."""
    return f"{base_url}/api/webhooks/sms/{tenant.id}"


def connect_tenant(
    tenant: TenantInfo, admin: Principal, provider: SmsProvider, *, sender: str = "PRMCLINIC"
) -> Account:
    """Open an account at ``provider`` and configure ``tenant`` to send SMS through it
    (through the settings service, as the settings page does). Quiet hours are
    left at the defaults: tests send urgent messages or move the clock."""
    account = provider.add_account(sender=sender)
    with tenant_session(tenant.id) as s:
        update_messaging_settings(
            session=s,
            actor=admin,
            email_enabled=True,
            email_from_name="",
            sms_enabled=True,
            sms_provider_url=provider.url,
            sms_sender=sender,
            quiet_start="21:00",
            quiet_end="08:00",
            daily_cap=3,
            marketing_default=True,
            sms_api_key=account.api_key,
            sms_webhook_secret=account.webhook_secret,
        )
    return account


# --- driving the engine the way the Celery tasks do -----------------------------------------


def send_due(
    tenant: TenantInfo, *, adapters: Callable[[Channel], ChannelAdapter] | None = None
) -> dict[str, int]:
    """Claim the tenant's due messages and deliver them (what dispatch_tenant and
    send_batch do, without the broker); the outcome counts."""
    with tenant_session(tenant.id) as s:
        ids = claim_due(s, now=utcnow(), limit=100)
    return deliver_batch(tenant_id=tenant.id, message_ids=ids, adapters=adapters).counts


def load_message(tenant: TenantInfo, message_id: int) -> Message:
    """The message as stored now."""
    with tenant_session(tenant.id) as s:
        return s.exec(select(Message).where(Message.id == message_id)).one()


def enqueue_sms(
    tenant: TenantInfo,
    patient_id: int,
    *,
    template_key: str = "care.reminder",
    dedupe_key: str | None = None,
    urgent: bool = True,
) -> int:
    """Put an SMS for the patient in the outbox (urgent: quiet hours do not hold it)."""
    variables = (
        {"title": "复诊", "when": "2026-12-01 09:30", "note": "请空腹。"}
        if template_key == "care.reminder"
        else {"tip": "每天步行 30 分钟。"}
    )
    with tenant_session(tenant.id) as s:
        msg = enqueue(
            s,
            template_key=template_key,
            channel=Channel.SMS,
            patient_id=patient_id,
            variables=variables,
            dedupe_key=dedupe_key or f"test:{secrets.token_hex(6)}",
            urgent=urgent,
            source="test",
        )
        assert msg.id is not None
        return msg.id
