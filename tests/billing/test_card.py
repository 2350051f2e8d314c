"""The card page /api/billing/card/<token> against localstripe: the signed link, the
Stripe.js page, saving the card as the customer's default, a declined card, and
paying what is unpaid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prm_saas.accounts.models import StaffMember, StaffRole
from prm_saas.billing import engine, services
from prm_saas.i18n import translate
from prm_saas.settings import get_settings
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tests.billing import helpers as h
from tests.factories import World
from tests.orders.helpers import http


def _url(world: World, now: object = None) -> str:
    with tenant_session(world.a.id) as s:
        url = services.card_page_url(session=s, actor=world.admin_a, now=now)  # type: ignore[arg-type]
    base = get_settings().public_url
    assert url.startswith(f"{base}/api/billing/card/")
    return url[len(base) :]


def _save(path: str, number: str, lang: str = "en") -> tuple[int, dict[str, object]]:
    r = http("POST", f"{path}/save?lang={lang}", json={"token": h.card_token(number)})
    return r.status_code, r.json()


def test_the_card_page_shows_stripe_js_and_the_card_on_file(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    path = _url(world)
    r = http("GET", f"{path}?lang=en")
    assert r.status_code == 200
    assert "id='card-element'" in r.text
    assert f"src='{get_settings().stripe_js_url}'" in r.text
    assert "No card on file yet." in r.text
    assert "script-src 'nonce-" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    # the admin saves a good card
    status, body = _save(path, h.CARD_OK)
    assert status == 200, body
    assert body["message"] == "The card was saved."
    tb = h.billing(world.a)
    assert (tb.card_last4, tb.card_brand, tb.card_exp) == ("4242", "Visa", "12/2031")
    cus = h.stripe_get(f"/v1/customers/{tb.stripe_customer_id}")
    assert cus["default_source"] == tb.payment_method_id
    # and the page shows it now, in Chinese by default
    r = http("GET", path)
    assert "4242" in r.text
    assert "更新付款银行卡" in r.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_declined_card_says_so_and_changes_nothing(world: World, lang: str) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    path = _url(world)
    assert _save(path, h.CARD_OK)[0] == 200
    before = h.billing(world.a)
    status, body = _save(path, h.CARD_DECLINED_ON_ATTACH, lang=lang)
    assert status == 402
    expected = {
        "zh-CN": "银行卡被拒绝，未做任何更改。请换一张卡再试。",
        "en": "The card was declined; nothing was changed. Please try another card.",
    }[lang]
    assert body == {"error": expected}
    after = h.billing(world.a)
    assert (after.payment_method_id, after.card_last4) == (before.payment_method_id, "4242")
    cus = h.stripe_get(f"/v1/customers/{after.stripe_customer_id}")
    assert cus["default_source"] == before.payment_method_id


def test_bad_links_and_bodies_are_refused(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.open_billing(world.b, plans.basic, h.now())
    good = _url(world)
    token = good.rsplit("/", 1)[1]
    tid, staff, exp, sig = token.split(".")
    expired = _url(world, now=h.now() - timedelta(minutes=31))
    bad = [
        f"/api/billing/card/{tid}.{staff}.{exp}.{sig[:-2]}xx",  # forged signature
        f"/api/billing/card/{world.b.id}.{staff}.{exp}.{sig}",  # B named with A's signature
        f"/api/billing/card/{tid}.{int(staff) + 1}.{exp}.{sig}",
        expired,
        "/api/billing/card/garbage",
    ]
    # a correctly signed token for tenant B naming A's admin (not B's staff)
    other = services.card_token(world.b.id, world.admin_a.id, h.now() + timedelta(minutes=5))
    bad.append(f"/api/billing/card/{other}")
    for path in bad:
        assert http("GET", path).status_code == 404, path
        r = http("POST", f"{path}/save", json={"token": "tok_x"})
        assert r.status_code == 404, path
    for body in ({"token": 5}, {"nope": 1}, [1]):
        assert http("POST", f"{good}/save", json=body).status_code == 400
    assert http("POST", f"{good}/save", content=b"not json").status_code == 400
    r = http("POST", f"{good}/save?lang=en", json={"token": "not-a-token"})
    assert r.status_code == 402
    assert r.json() == {"error": "The card details are not valid. Please check them and try again."}
    for t in (world.a, world.b):
        assert h.billing(t).payment_method_id == ""


def test_a_link_stops_working_once_its_admin_loses_the_role(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    path = _url(world)
    with tenant_session(world.a.id) as s:
        m = s.get(StaffMember, world.admin_a.id)
        assert m is not None
        m.role = StaffRole.STAFF
        s.add(m)
    assert http("GET", path).status_code == 404
    assert _save(path, h.CARD_OK)[0] == 404


def test_a_new_card_pays_what_is_unpaid_and_lifts_a_billing_suspension(world: World) -> None:
    # given A suspended for billing (trial ended without a card, grace over)
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    engine.run_cycle(now=end + timedelta(days=8))
    assert h.status(world.a) == "suspended"
    # when the admin saves a card on the card page
    path = _url(world)
    page = http("GET", f"{path}?lang=en")
    assert "Unpaid invoices: 1, ¥1000.00 in total" in page.text
    status, body = _save(path, h.CARD_OK)
    # then the invoice is paid and A is active again
    assert status == 200, body
    assert (body["paid"], body["unpaid"], body["status"]) == (1, 0, "active")
    assert body["message"] == "The card was saved and 1 invoice(s) were paid."
    (inv,) = h.invoices(world.a)
    assert (inv.status, inv.amount_paid_fen) == ("paid", 100000)
    tb = h.billing(world.a)
    assert (tb.suspension, tb.past_due_since) == ("", None)
    assert h.status(world.a) == "active"


def test_the_card_services_check_actor_and_token(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    with tenant_session(world.a.id) as s:
        for actor in (world.admin_b, world.patient_b):
            with pytest.raises(NotFound):
                services.card_page_url(session=s, actor=actor)
            with pytest.raises(NotFound):
                services.billing_overview(session=s, actor=actor)
        with pytest.raises(PermissionDenied):
            services.card_page_url(session=s, actor=world.staff_a)
        for bad in (None, 42, True, "", "pm_card_visa", "tok_" + "x" * 200):
            with pytest.raises(DomainError) as err:
                services.save_card(
                    session=s,
                    actor=world.admin_a,
                    card_token=bad,  # type: ignore[arg-type]
                )
            assert err.value.key == "billing.card_invalid"
            assert translate(err.value.key, "zh-CN") == "银行卡信息无效，请检查后重试。"
    assert h.billing(world.a).payment_method_id == ""
