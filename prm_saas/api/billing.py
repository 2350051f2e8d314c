"""The tenant's card page for platform billing (a Stripe.js page like /api/pay).

GET  /api/billing/card/<token>
    The signed token (``billing.services.card_page_url``: tenant, staff member,
    expiry 30 minutes) names who may use the page; a forged, expired or other
    tenant's token, or an admin who lost the permission since, is 404. Shows the
    card on file and what is unpaid, a card field from Stripe.js and a save
    button. Stable element ids for browser tests: ``#card-element``,
    ``#card-button``, ``#card-error``, ``#card-status``, ``#card-current``.
POST /api/billing/card/<token>/save
    JSON ``{"token": "tok_..."}`` from ``stripe.createToken`` (real Stripe.js and
    localstripe's both make one); the server saves the card as the customer's
    default and pays every unpaid invoice (``billing.services.save_card``). 200 with
    the outcome and a message; 402 with ``billing.card_declined`` (nothing changed).
"""

from __future__ import annotations

import html
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from prm_saas.api.stripe_pages import config_json, json_response, page, page_locale
from prm_saas.billing import services
from prm_saas.billing.engine import CardSaved
from prm_saas.i18n import translate
from prm_saas.mall.money import fen_to_yuan_text
from prm_saas.settings import get_settings
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound
from tenants.resolution import tenant_base_url, tenant_by_id
from tenants.types import utcnow


def _target(request: Request) -> tuple[int, int] | None:
    return services.read_card_token(str(request.path_params.get("token", "")), now=utcnow())


def _not_found(locale: str) -> HTMLResponse:
    text = html.escape(translate("billing.card.not_found", locale))
    return page(locale, text, f'<p id="card-status">{text}</p>', secrets.token_urlsafe(12), 404)


def _billing_url(tenant_id: int) -> str:
    tenant = tenant_by_id(tenant_id)
    public = get_settings().public_url
    if tenant is None:
        return public
    return f"{tenant_base_url(tenant, public_url=public)}/admin/billing"


_SCRIPT = """
(function(){
  var cfg = JSON.parse(document.getElementById('card-config').textContent);
  var stripe = Stripe(cfg.publishableKey);
  var card = stripe.elements().create('card');
  card.mount('#card-element');
  var button = document.getElementById('card-button');
  var error = document.getElementById('card-error');
  var status = document.getElementById('card-status');
  function done(){ button.disabled = false; button.textContent = cfg.buttonText; }
  function fail(msg){ error.textContent = msg || cfg.genericError; done(); }
  button.addEventListener('click', async function(){
    button.disabled = true; error.textContent = ''; status.textContent = '';
    button.textContent = cfg.workingText;
    try {
      var tok = await stripe.createToken(card);
      if (tok.error || !tok.token) {
        return fail((tok.error && tok.error.message) || cfg.cardError);
      }
      var r = await fetch(cfg.saveUrl, {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({token: tok.token.id})});
      var body = await r.json().catch(function(){ return {}; });
      if (!r.ok) { return fail(body.error); }
      status.textContent = body.message || '';
      status.setAttribute('data-status', body.status || '');
      if (body.unpaid > 0) { error.textContent = body.message; }
      document.getElementById('card-current').textContent = body.card || '';
      done();
    } catch (e) { fail(e && e.message); }
  });
})();
"""


def _card_text(card: services.CardInfo | None, locale: str) -> str:
    if card is None:
        return translate("billing.card.none", locale)
    return translate(
        "billing.card.current", locale, brand=card.brand, last4=card.last4, exp=card.exp
    )


def _load(target: tuple[int, int]) -> services.CardPage:
    tenant_id, staff_id = target
    with tenant_session(tenant_id) as s:
        actor = services.card_actor(s, staff_id)
        return services.card_page(session=s, actor=actor)


async def card_page(request: Request) -> Response:
    """The card update page."""
    lang = request.query_params.get("lang")
    target = _target(request)
    if target is None:
        return _not_found(page_locale(lang))
    try:
        info = await run_in_threadpool(_load, target)
    except DomainError:
        return _not_found(page_locale(lang))
    locale = page_locale(lang or info.locale)
    t = lambda key, **kw: html.escape(translate(key, locale, **kw))  # noqa: E731
    token = str(request.path_params["token"])
    s = get_settings()
    cfg = {
        "publishableKey": s.stripe_publishable_key,
        "saveUrl": f"/api/billing/card/{token}/save?lang={locale}",
        "buttonText": translate("billing.card.button", locale),
        "workingText": translate("billing.card.working", locale),
        "genericError": translate("billing.stripe_unavailable", locale),
        "cardError": translate("billing.card_invalid", locale),
    }
    amount = fen_to_yuan_text(info.unpaid_fen)
    count = info.unpaid_count
    unpaid = (
        f"<p id='card-unpaid'>{t('billing.card.unpaid', count=count, amount=amount)}</p>"
        if count
        else ""
    )
    back = await run_in_threadpool(_billing_url, target[0])
    nonce = secrets.token_urlsafe(16)
    body = (
        f"<p class='muted'>{html.escape(info.tenant_name)}</p>"
        f"<h1>{t('billing.card.title')}</h1>"
        f"<p id='card-current'>{html.escape(_card_text(info.card, locale))}</p>{unpaid}"
        "<div id='card-element'></div><div id='card-error' role='alert'></div>"
        f"<button id='card-button' type='button'>{t('billing.card.button')}</button>"
        "<p id='card-status' class='muted'></p>"
        f"<p><a id='billing-link' href='{html.escape(back)}'>{t('billing.card.back')}</a></p>"
        f"<script id='card-config' type='application/json'>{config_json(cfg)}</script>"
        f"<script src='{html.escape(s.stripe_js_url)}'></script>"
        f"<script nonce='{nonce}'>{_SCRIPT}</script>"
    )
    return page(locale, translate("billing.card.title", locale), body, nonce)


def _save(target: tuple[int, int], card_token: str, ip: str) -> CardSaved:
    tenant_id, staff_id = target
    with tenant_session(tenant_id) as s:
        actor = services.card_actor(s, staff_id)
        return services.save_card(session=s, actor=actor, card_token=card_token, ip=ip)


def _saved_message(saved: CardSaved, locale: str) -> str:
    if saved.unpaid:
        return translate("billing.card.saved_unpaid", locale, unpaid=saved.unpaid)
    if saved.paid:
        return translate("billing.card.saved_paid", locale, paid=saved.paid)
    return translate("billing.card.saved", locale)


async def card_save(request: Request) -> Response:
    """Save the card of a Stripe.js token and pay what is unpaid."""
    target = _target(request)
    if target is None:
        return json_response({"error": "not found"}, 404)
    try:
        data = await request.json()
    except ValueError:
        return json_response({"error": "bad request"}, 400)
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str):
        return json_response({"error": "bad request"}, 400)
    locale = page_locale(request.query_params.get("lang"))
    ip = request.client.host if request.client else ""
    try:
        saved = await run_in_threadpool(_save, target, token, ip)
    except NotFound:
        return json_response({"error": "not found"}, 404)
    except DomainError as exc:
        return json_response({"error": translate(exc.key, locale, **exc.params)}, 402)
    card = services.CardInfo(brand=saved.brand, last4=saved.last4, exp=saved.exp)
    return json_response(
        {
            "status": saved.status,
            "paid": saved.paid,
            "unpaid": saved.unpaid,
            "message": _saved_message(saved, locale),
            "card": _card_text(card, locale),
        },
        200,
    )


ROUTES: list[BaseRoute] = [
    Route("/api/billing/card/{token}", card_page, methods=["GET"]),
    Route("/api/billing/card/{token}/save", card_save, methods=["POST"]),
]
