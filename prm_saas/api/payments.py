"""Stripe: the webhook and the hosted pay page.

POST /api/webhooks/stripe
    Stripe's events (prm_saas.orders.webhooks): 400 for a bad signature or an
    unreadable body (nothing stored), 200 with the outcome otherwise (also for a
    replay: ``duplicate``), 503 while Stripe cannot be reached or the tenant is
    suspended (nothing applied; Stripe retries).
GET  /api/pay/<token>
    The pay page of an order (the signed token names tenant and order, see
    prm_saas.orders.services.pay_token): order number, lines, amount, a card
    field from Stripe.js (``STRIPE_JS_URL``; localstripe's fake in dev) and a pay
    button. Stable element ids for browser tests: ``#card-element``,
    ``#pay-button``, ``#pay-error``, ``#pay-status``.
POST /api/pay/<token>/confirm
    localstripe only (its Stripe.js cannot confirm a fresh card): JSON
    ``{"token": "tok_..."}`` from ``stripe.createToken``; the server attaches the
    card and confirms the PaymentIntent. With real Stripe the page calls
    ``stripe.confirmCardPayment(client_secret, {payment_method: {card}})``.
GET  /api/pay/<token>/return
    Where the page goes after paying: syncs the PaymentIntent from Stripe (the
    order is right even before the webhook arrives) and redirects to the
    booking's page, ``<tenant base>/bookings/<booking id>``.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.api.stripe_pages import NO_STORE as _NO_STORE
from prm_saas.api.stripe_pages import config_json, json_response
from prm_saas.api.stripe_pages import page as _page
from prm_saas.api.stripe_pages import page_locale as _locale
from prm_saas.i18n import translate
from prm_saas.orders import services
from prm_saas.orders import stripe_gateway as gateway
from prm_saas.orders.webhooks import (
    MAX_BODY_BYTES,
    WebhookInvalid,
    handle_stripe_webhook,
)
from prm_saas.settings import get_settings
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound, TenantReadOnly
from tenants.resolution import tenant_base_url, tenant_by_id
from tenants.types import utcnow


def _json(payload: dict[str, str], status: int) -> JSONResponse:
    return json_response(dict(payload), status)


# --- webhook -----------------------------------------------------------------------------


async def stripe_webhook(request: Request) -> Response:
    """One Stripe event delivery."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _json({"error": "too large"}, 413)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _json({"error": "too large"}, 413)
    try:
        result = await run_in_threadpool(
            lambda: handle_stripe_webhook(
                payload=body,
                signature=request.headers.get("stripe-signature", ""),
                now=utcnow(),
            )
        )
    except gateway.BadSignature:
        return _json({"error": "bad signature"}, 400)
    except WebhookInvalid:
        return _json({"error": "invalid event"}, 400)
    except (gateway.PaymentGatewayError, TenantReadOnly):
        return JSONResponse(
            {"error": "unavailable"}, status_code=503, headers={**_NO_STORE, "Retry-After": "60"}
        )
    return _json({"status": result.outcome, "id": result.event_id}, 200)


# --- the pay page --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    tenant_id: int
    order_id: int


def _target(request: Request) -> _Target | None:
    parsed = services.read_pay_token(str(request.path_params.get("token", "")))
    if parsed is None:
        return None
    return _Target(*parsed)


def _not_found(locale: str) -> HTMLResponse:
    text = html.escape(translate("orders.pay.not_found", locale))
    return _page(locale, text, f'<p id="pay-status">{text}</p>', secrets.token_urlsafe(12), 404)


def _booking_url(tenant_id: int, booking_id: int | None) -> str:
    tenant = tenant_by_id(tenant_id)
    if tenant is None:
        return get_settings().public_url
    base = tenant_base_url(tenant, public_url=get_settings().public_url)
    return f"{base}/bookings/{booking_id}" if booking_id else base


_SCRIPT = """
(function(){
  var cfg = JSON.parse(document.getElementById('pay-config').textContent);
  var stripe = Stripe(cfg.publishableKey);
  var card = stripe.elements().create('card');
  card.mount('#card-element');
  var button = document.getElementById('pay-button');
  var error = document.getElementById('pay-error');
  function fail(msg){ error.textContent = msg || cfg.genericError; button.disabled = false;
    button.textContent = cfg.buttonText; }
  function message(e){ return (e && e.message) ? e.message : ''; }
  button.addEventListener('click', async function(){
    button.disabled = true; error.textContent = ''; button.textContent = cfg.workingText;
    try {
      if (cfg.serverConfirm) {
        var tok = await stripe.createToken(card);
        if (tok.error || !tok.token) { return fail(message(tok.error) || cfg.cardError); }
        var r = await fetch(cfg.confirmUrl, {method: 'POST', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({token: tok.token.id})});
        var body = await r.json().catch(function(){ return {}; });
        if (!r.ok) { return fail(body.error); }
        if (body.status === 'requires_action') {
          var auth = await stripe.confirmCardPayment(cfg.clientSecret);
          if (auth.error) { return fail(message(auth.error)); }
        }
      } else {
        var res = await stripe.confirmCardPayment(cfg.clientSecret,
          {payment_method: {card: card}});
        if (res.error) { return fail(message(res.error)); }
      }
      window.location.assign(cfg.returnUrl);
    } catch (e) { fail(message(e)); }
  });
})();
"""


def _render(page: services.PayPage, booking_url: str, token: str, lang: str | None) -> HTMLResponse:
    locale = _locale(lang or page.locale)
    nonce = secrets.token_urlsafe(16)
    t = lambda key, **kw: html.escape(translate(key, locale, **kw))  # noqa: E731
    amount = services.yuan(page.total_fen)
    rows = "".join(
        f"<tr><td>{html.escape(ln.name)}</td>"
        f"<td class='r'>¥{services.yuan(ln.amount_fen)}</td></tr>"
        for ln in page.lines
    )
    head = (
        f"<p class='muted'>{html.escape(page.tenant_name)}</p><h1>{t('orders.pay.title')}</h1>"
        f"<p>{t('orders.pay.number')}: "
        f"<span id='order-number'>{html.escape(page.number)}</span></p>"
        f"<table>{rows}<tr><td>{t('orders.pay.total')}</td>"
        f"<td class='r total' id='pay-amount'>¥{amount}</td></tr></table>"
    )
    booking_link = (
        f"<p><a id='booking-link' href='{html.escape(booking_url)}'>"
        f"{t('orders.pay.view_booking')}</a></p>"
    )
    if not page.client_secret:
        if page.status in ("paid", "partially_refunded", "refunded"):
            msg = t("orders.pay.paid")
        else:
            msg = t("orders.pay.closed", status=translate(f"orders.status.{page.status}", locale))
        return _page(
            locale,
            translate("orders.pay.title", locale),
            f"{head}<p id='pay-status' data-status='{html.escape(page.status)}'>{msg}</p>"
            f"{booking_link}",
            nonce,
        )
    s = get_settings()
    cfg = {
        "publishableKey": s.stripe_publishable_key,
        "clientSecret": page.client_secret,
        "serverConfirm": gateway.is_local(),
        "confirmUrl": f"/api/pay/{token}/confirm",
        "returnUrl": f"/api/pay/{token}/return",
        "buttonText": translate("orders.pay.button", locale, amount=amount),
        "workingText": translate("orders.pay.working", locale),
        "genericError": translate("orders.payment_unavailable", locale),
        "cardError": translate("orders.card_invalid", locale),
    }
    cfg_json = config_json(cfg)
    body = (
        f"{head}<div id='card-element'></div>"
        f"<div id='pay-error' role='alert'></div>"
        f"<button id='pay-button' type='button'>{t('orders.pay.button', amount=amount)}</button>"
        f"<p id='pay-status' data-status='{html.escape(page.status)}' class='muted'></p>"
        f"<script id='pay-config' type='application/json'>{cfg_json}</script>"
        f"<script src='{html.escape(s.stripe_js_url)}'></script>"
        f"<script nonce='{nonce}'>{_SCRIPT}</script>"
    )
    return _page(locale, translate("orders.pay.title", locale), body, nonce)


def _load_page(target: _Target) -> tuple[services.PayPage, str]:
    with tenant_session(target.tenant_id) as s:
        page = services.pay_page(session=s, order_id=target.order_id, now=utcnow())
    return page, _booking_url(target.tenant_id, page.booking_id)


async def pay_page(request: Request) -> Response:
    """The hosted pay page."""
    lang = request.query_params.get("lang")
    target = _target(request)
    if target is None:
        return _not_found(_locale(lang))
    try:
        page, booking_url = await run_in_threadpool(_load_page, target)
    except NotFound:
        return _not_found(_locale(lang))
    except DomainError as exc:
        locale = _locale(lang)
        text = html.escape(translate(exc.key, locale, **exc.params))
        return _page(locale, text, f"<p id='pay-status'>{text}</p>", secrets.token_urlsafe(12), 409)
    return _render(page, booking_url, str(request.path_params["token"]), lang)


def _confirm(target: _Target, token: str) -> gateway.IntentView:
    with tenant_session(target.tenant_id) as s:
        return services.confirm_card(
            session=s, order_id=target.order_id, card_token=token, now=utcnow()
        )


async def pay_confirm(request: Request) -> Response:
    """Server-side confirmation with a Stripe.js card token (the localstripe flow)."""
    target = _target(request)
    if target is None:
        return _json({"error": "not found"}, 404)
    try:
        data = await request.json()
    except ValueError:
        return _json({"error": "bad request"}, 400)
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str):
        return _json({"error": "bad request"}, 400)
    locale = _locale(request.query_params.get("lang"))
    try:
        intent = await run_in_threadpool(_confirm, target, token)
    except NotFound:
        return _json({"error": "not found"}, 404)
    except DomainError as exc:
        return _json({"error": translate(exc.key, locale, **exc.params)}, 402)
    return _json({"status": intent.status}, 200)


def _sync(target: _Target) -> int | None:
    try:
        with tenant_session(target.tenant_id) as s:
            return services.pay_page(session=s, order_id=target.order_id, now=utcnow()).booking_id
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        # Stripe unreachable: the webhook will bring the state; still show the booking.
        with tenant_session(target.tenant_id) as s:
            return services.order_booking_id(session=s, order_id=target.order_id)


async def pay_return(request: Request) -> Response:
    """After paying: sync from Stripe, then go to the booking's page."""
    target = _target(request)
    if target is None:
        return _not_found(_locale(request.query_params.get("lang")))
    try:
        booking_id = await run_in_threadpool(_sync, target)
    except NotFound:
        return _not_found(_locale(request.query_params.get("lang")))
    url = await run_in_threadpool(_booking_url, target.tenant_id, booking_id)
    return RedirectResponse(url, status_code=303, headers=_NO_STORE)


ROUTES: list[BaseRoute] = [
    Route("/api/webhooks/stripe", stripe_webhook, methods=["POST"]),
    Route("/api/pay/{token}", pay_page, methods=["GET"]),
    Route("/api/pay/{token}/confirm", pay_confirm, methods=["POST"]),
    Route("/api/pay/{token}/return", pay_return, methods=["GET"]),
]
