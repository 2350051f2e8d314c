"""The rewards catalog for patients (积分兑换), mobile first: what points buy
(a package coupon, a discount coupon, a gift at the front desk), redeeming with
a confirmation step, and my coupons with their codes and expiry.

Pages only call services (prm_saas.membership.rewards); every check lives there.
A redemption carries an idempotency key made once per visit and reward: a
retried request or a double tap makes one coupon; after a coupon is made the key
is renewed, so redeeming the same reward again on purpose makes a second one.
"""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from pages.patient.wallet import PAT, member_links
from prm_saas.display import local_time, yuan
from prm_saas.i18n import translate
from prm_saas.membership.points import spendable
from prm_saas.membership.rewards import (
    CouponView,
    RewardCard,
    display_code,
    my_coupons,
    redeem_reward,
    rewards_catalog,
)
from tenants.types import utcnow

COUPON_STATUS_COLORS = {"issued": "green", "used": "gray", "void": "red", "expired": "gray"}


def _pick(zh: str, en: str, lang: str) -> str:
    return (en or zh) if lang == "en" else zh


def terms_text(
    *,
    kind: str,
    package: str,
    cash_fen: int,
    discount_fen: int,
    discount_percent: int,
    min_spend_fen: int,
    lang: str,
) -> str:
    """What a reward or coupon gives, in words."""
    if kind == "package_coupon":
        if cash_fen > 0:
            return translate(
                "myrewards.terms_package_cash", lang, package=package, cash=yuan(cash_fen)
            )
        return translate("myrewards.terms_package_free", lang, package=package)
    if kind == "discount_coupon":
        off = (
            translate("myrewards.terms_off_fen", lang, amount=yuan(discount_fen))
            if discount_fen > 0
            else translate("myrewards.terms_off_percent", lang, percent=discount_percent)
        )
        if min_spend_fen > 0:
            return off + translate("myrewards.terms_min_spend", lang, amount=yuan(min_spend_fen))
        return off
    if cash_fen > 0:
        return translate("myrewards.terms_gift_cash", lang, cash=yuan(cash_fen))
    return translate("myrewards.terms_gift", lang)


def reward_row(r: RewardCard, lang: str) -> dict[str, str]:
    """A catalog entry for the page (every value a string; flags "1" or "")."""
    return {
        "id": str(r.id),
        "kind": r.kind,
        "name": _pick(r.name_zh, r.name_en, lang),
        "description": _pick(r.description_zh, r.description_en, lang),
        "terms": terms_text(
            kind=r.kind,
            package=_pick(r.package_name_zh, r.package_name_en, lang),
            cash_fen=r.cash_fen,
            discount_fen=r.discount_fen,
            discount_percent=r.discount_percent,
            min_spend_fen=r.min_spend_fen,
            lang=lang,
        ),
        "cost": str(r.points_cost),
        "stock": "" if r.stock_left is None else str(r.stock_left),
        "valid_days": str(r.coupon_valid_days),
        "affordable": "1" if r.affordable else "",
        "limit_reached": "1" if r.limit_reached else "",
        "can_redeem": "1" if r.affordable and not r.limit_reached else "",
    }


def coupon_row(c: CouponView, lang: str, tz: str) -> dict[str, str]:
    """One of my coupons: its code, what it gives, status and expiry (local time)."""
    return {
        "id": str(c.id),
        "code": c.code_display or c.code,
        "name": _pick(c.name_zh, c.name_en, lang),
        "kind": c.kind,
        "terms": terms_text(
            kind=c.kind,
            package=_pick(c.package_name_zh, c.package_name_en, lang),
            cash_fen=c.cash_fen,
            discount_fen=c.discount_fen,
            discount_percent=c.discount_percent,
            min_spend_fen=c.min_spend_fen,
            lang=lang,
        ),
        "status": c.status,
        "status_label": translate(f"myrewards.coupon_status.{c.status}", lang),
        "usable": "1" if c.usable else "",
        "expires": local_time(c.expires_at, tz),
        "used": local_time(c.used_at, tz),
        "package_id": str(c.package_id) if c.package_id and c.usable else "",
    }


class RewardsState(FormMixin, PatientState):
    """The catalog, the confirmation of one redemption, my coupons."""

    rewards: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    coupons: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    spendable_points: str = ""
    confirm_id: str = ""  # the reward whose confirmation is open
    tab: str = "catalog"
    _visit: str = ""  # the visit's key part (server side only)

    def _fetch(self) -> None:
        lang, tz = self.lang, self._tenant().timezone
        now = utcnow()

        def use_case(s: Any, p: Any) -> Any:
            return (
                rewards_catalog(session=s, actor=p, now=now),
                my_coupons(session=s, actor=p, now=now),
                spendable(s, actor=p, patient_id=p.id, now=now),
            )

        got, _ev = self._run(PAT, use_case, self._fail)
        if got is None:
            return
        catalog, coupons, points = got
        self.rewards = [reward_row(r, lang) for r in catalog]
        self.coupons = [coupon_row(c, lang, tz) for c in coupons]
        self.spendable_points = str(points)

    @rx.event
    def load(self) -> Any:
        """The catalog and my coupons; a fresh key for this visit."""
        self._clear()
        self.rewards, self.coupons, self.confirm_id = [], [], ""
        self._visit = uuid.uuid4().hex
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        tab = self.router.url.query_parameters.get("tab", "")
        self.tab = "coupons" if tab == "coupons" else "catalog"
        self._fetch()
        return self._refresh_unread()

    @rx.event
    def show_tab(self, tab: str) -> None:
        """The catalog or my coupons."""
        if tab in ("catalog", "coupons"):
            self.tab = tab

    @rx.event
    def ask(self, reward_id: str) -> None:
        """Open (or, with "", close) the confirmation of one redemption."""
        self._clear()
        rid = str(reward_id) if isinstance(reward_id, str | int) else ""
        self.confirm_id = rid if rid in {r["id"] for r in self.rewards} else ""

    @rx.event
    def redeem(self, reward_id: str) -> Any:
        """Spend the points: a coupon (shown under my coupons) or the service's refusal."""
        rid = str(reward_id) if isinstance(reward_id, str | int) else ""
        if not rid or rid != self.confirm_id:
            return None  # not confirmed, or a second tap after the first went through
        self._clear()
        self.confirm_id = ""
        if not self._visit:
            self._visit = uuid.uuid4().hex
        key = f"{self._visit}:{rid}"

        def use_case(s: Any, p: Any) -> Any:
            return redeem_reward(
                session=s, actor=p, reward_id=rid, idempotency_key=key, now=utcnow()
            )

        coupon, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        if coupon is not None:
            self._visit = uuid.uuid4().hex  # the next redemption is a new one
            error = self.error
            self._fetch()
            self.error = error
            self.notice = self.tr("myrewards.redeemed", code=display_code(coupon.code))
            self.tab = "coupons"
        else:
            error, fields = self.error, self.field_errors
            self._fetch()  # stock or points may have changed: show the fresh picture
            self.error, self.field_errors = error, fields
        return None


def _reward_card(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = RewardsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(
                    rx.match(
                        r["kind"], ("gift", "gift"), ("package_coupon", "heart-pulse"), "ticket"
                    ),
                    size=20,
                    color=AppState.tenant_color,
                ),
                rx.text(r["name"], weight="bold", flex="1"),
                rx.badge(r["cost"], " ", t("mycard.points"), color_scheme="amber", size="2"),
                width="100%",
                align="center",
            ),
            rx.text(r["terms"], size="2"),
            rx.cond(
                r["description"] != "",
                rx.text(r["description"], size="1", color_scheme="gray"),
            ),
            rx.hstack(
                rx.cond(
                    r["stock"] != "",
                    rx.badge(t("myrewards.stock_left"), " ", r["stock"], variant="soft"),
                ),
                rx.badge(
                    t("myrewards.valid_days"),
                    " ",
                    r["valid_days"],
                    " ",
                    t("mychallenge.days"),
                    variant="soft",
                    color_scheme="gray",
                ),
                rx.cond(
                    r["limit_reached"] != "",
                    rx.badge(t("myrewards.limit_reached"), color_scheme="gray"),
                    rx.cond(
                        r["affordable"] == "",
                        rx.badge(t("myrewards.not_enough"), color_scheme="gray"),
                    ),
                ),
                spacing="1",
                wrap="wrap",
            ),
            rx.cond(
                s.confirm_id == r["id"],
                rx.hstack(
                    rx.button(
                        t("myrewards.confirm"),
                        on_click=s.redeem(r["id"]),
                        id="confirm-redeem-" + r["id"],
                        flex="1",
                    ),
                    rx.button(
                        t("common.cancel"),
                        variant="soft",
                        color_scheme="gray",
                        on_click=s.ask(""),
                        flex="1",
                    ),
                    width="100%",
                ),
                rx.button(
                    t("myrewards.redeem"),
                    variant="soft",
                    width="100%",
                    on_click=s.ask(r["id"]),
                    id="redeem-" + r["id"],
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="reward-" + r["id"],
    )


def _coupon_card(c: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(c["name"], weight="bold", flex="1"),
                rx.match(
                    c["status"],
                    *[
                        (
                            k,
                            rx.badge(
                                c["status_label"], color_scheme=v, id="coupon-status-" + c["id"]
                            ),
                        )
                        for k, v in COUPON_STATUS_COLORS.items()
                    ],
                    rx.badge(c["status_label"], id="coupon-status-" + c["id"]),
                ),
                width="100%",
            ),
            rx.text(c["terms"], size="2"),
            rx.code(
                c["code"],
                size="4",
                id="coupon-code-" + c["id"],
                class_name="coupon-code",
                letter_spacing="1px",
            ),
            rx.cond(
                c["used"] != "",
                rx.text(t("myrewards.used_at"), " ", c["used"], size="1", color_scheme="gray"),
                rx.text(t("myrewards.expires"), " ", c["expires"], size="1", color_scheme="gray"),
            ),
            rx.cond(
                (c["usable"] != "") & (c["kind"] == "gift"),
                rx.text(t("myrewards.gift_hint"), size="1", color_scheme="gray"),
            ),
            rx.cond(
                c["package_id"] != "",
                rx.link(
                    t("myrewards.use_now"),
                    href=AppState.base_path + "/book/" + c["package_id"],
                    size="2",
                ),
                rx.cond(
                    (c["usable"] != "") & (c["kind"] == "discount_coupon"),
                    rx.link(
                        t("myrewards.use_in_mall"), href=AppState.base_path + "/mall", size="2"
                    ),
                ),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        id="coupon-" + c["id"],
        opacity=rx.cond(c["usable"] != "", "1", "0.6"),
    )


@page("/rewards", title="Rewards", on_load=RewardsState.load)
def rewards_page() -> rx.Component:
    """The catalog and my coupons."""
    s = RewardsState
    tabs = rx.hstack(
        rx.button(
            t("myrewards.catalog"),
            variant=rx.cond(s.tab == "catalog", "solid", "soft"),
            on_click=s.show_tab("catalog"),
            id="tab-catalog",
            flex="1",
        ),
        rx.button(
            t("myrewards.my_coupons"),
            variant=rx.cond(s.tab == "coupons", "solid", "soft"),
            on_click=s.show_tab("coupons"),
            id="tab-coupons",
            flex="1",
        ),
        width="100%",
    )
    catalog = rx.cond(
        s.rewards.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(rx.foreach(s.rewards, _reward_card), spacing="2", width="100%", id="reward-list"),
        rx.text(t("myrewards.none"), color_scheme="gray", id="rewards-empty"),
    )
    coupons = rx.cond(
        s.coupons.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(rx.foreach(s.coupons, _coupon_card), spacing="2", width="100%", id="coupon-list"),
        rx.text(t("myrewards.no_coupons"), color_scheme="gray", id="coupons-empty"),
    )
    return patient_layout(
        rx.vstack(
            rx.heading(t("myrewards.title"), size="6"),
            rx.text(
                t("mywallet.spendable"),
                " ",
                rx.text.span(s.spendable_points, weight="bold", id="rewards-spendable"),
                " ",
                t("mychallenge.points"),
                size="2",
            ),
            form_error(s),
            tabs,
            rx.cond(s.tab == "coupons", coupons, catalog),
            member_links(),
            spacing="3",
            width="100%",
        ),
        active="member",
    )
