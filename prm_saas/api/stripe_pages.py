"""What the hosted Stripe.js pages share: the order pay page (``api/payments``) and
the tenant's card page (``api/billing``).

A page is one small HTML document served by Starlette: no cache, no referrer (the
signed token is in the URL), a Content-Security-Policy that lets in only the
page's own nonce script and Stripe.js (``STRIPE_JS_URL``: localstripe's fake in
dev and tests), and the same mobile-friendly style.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, JSONResponse

from prm_saas.i18n import DEFAULT_LOCALE, normalize_locale
from prm_saas.settings import get_settings

NO_STORE = {"Cache-Control": "no-store"}


def page_locale(value: str | None) -> str:
    """A supported locale for ``value`` (the default if none)."""
    return normalize_locale(value) or DEFAULT_LOCALE


def json_response(payload: dict[str, object], status: int) -> JSONResponse:
    """A JSON answer that is never cached."""
    return JSONResponse(payload, status_code=status, headers=NO_STORE)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def page_headers(nonce: str) -> dict[str, str]:
    """The headers of a Stripe.js page whose inline script carries ``nonce``."""
    s = get_settings()
    js = _origin(s.stripe_js_url)
    api = _origin(s.stripe_api_base) if s.stripe_api_base else "https://api.stripe.com"
    return {
        **NO_STORE,
        "Referrer-Policy": "no-referrer",  # the token is in the URL
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}' {js}; "
            f"connect-src 'self' {api} {js}; frame-src {js} https://hooks.stripe.com; "
            "style-src 'unsafe-inline'; img-src 'self' data: https://*.stripe.com; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
    }


STYLE = (
    "body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
    "max-width:30rem;margin:0 auto;padding:1.2rem 1rem;line-height:1.5;color:#1f2937}"
    "h1{font-size:1.25rem;margin:.2rem 0 1rem}table{width:100%;border-collapse:collapse}"
    "td{padding:.35rem 0;border-bottom:1px solid #e5e7eb}td.r{text-align:right}"
    ".total{font-size:1.3rem;font-weight:700;color:#0f766e}"
    "#card-element{border:1px solid #d1d5db;border-radius:.5rem;padding:.8rem;margin:1rem 0;"
    "background:#fff}#card-element input{font-size:1rem;margin:.15rem;max-width:100%}"
    "button{width:100%;font-size:1.05rem;padding:.85rem;border:0;border-radius:.5rem;"
    "background:#0f766e;color:#fff;cursor:pointer}button:disabled{opacity:.6}"
    "#pay-error,#card-error{color:#b91c1c;min-height:1.4rem;margin:.6rem 0}.muted{color:#6b7280}"
    "a{color:#0f766e}"
)


def page(locale: str, title: str, body: str, nonce: str, status: int = 200) -> HTMLResponse:
    """The HTML document of a Stripe.js page."""
    doc = (
        f'<!doctype html><html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=page_headers(nonce))


def config_json(cfg: Mapping[str, object]) -> str:
    """A page's config as JSON for a ``<script type="application/json">`` element:
    "<" escaped so no "</script>" in a value can end it early."""
    import json

    return json.dumps(cfg).replace("<", "\\u003c")
