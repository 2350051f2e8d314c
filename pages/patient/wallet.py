"""The patient's points wallet (我的积分), mobile first: balance, what can be spent
now, what is locked in a purchase's return window and when it unlocks, what
expires soon and by which day, and the history.

Pages only call services (prm_saas.membership.wallet); every check lives there.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time
from prm_saas.i18n import translate
from prm_saas.membership.statement import HistoryLine, LevelView
from prm_saas.membership.wallet import Wallet, wallet
from tenants.types import utcnow

PAT = PrincipalKind.PATIENT


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


def points_text(points: int) -> str:
    """A ledger amount with its sign: +120, -80."""
    return f"+{points}" if points > 0 else str(points)


def benefits_text(level: LevelView | None, lang: str) -> list[str]:
    """A level's benefits in words (none for a level without any)."""
    if level is None:
        return []
    out: list[str] = []
    if level.discount_percent > 0:
        out.append(translate("mycard.benefit_discount", lang, percent=level.discount_percent))
    if level.multiplier_percent != 100:
        times = f"{level.multiplier_percent / 100:.2f}".rstrip("0").rstrip(".")
        out.append(translate("mycard.benefit_multiplier", lang, times=times))
    return out


def level_info(w: Wallet, lang: str) -> dict[str, str]:
    """The card, its level, the benefits and the way to the next level."""
    nxt = w.next_level
    return {
        "number": w.card_number,
        "level": w.level.name(lang) if w.level else "",
        "benefits": " · ".join(benefits_text(w.level, lang)),
        "next": (
            translate("mycard.to_next_level", lang, points=w.points_to_next, level=nxt.name(lang))
            if nxt is not None and w.points_to_next > 0
            else ""
        ),
    }


def wallet_info(w: Wallet) -> dict[str, str]:
    """The wallet's numbers (every value a string; "" where there is nothing to say)."""
    return {
        "balance": str(w.balance),
        "spendable": str(w.spendable),
        "locked": str(w.locked) if w.locked > 0 else "",
        "unlocks_on": _day(w.unlocks_on) if w.locked > 0 else "",
        "expiring": str(w.expiring) if w.expiring > 0 else "",
        "expiring_last_day": _day(w.expiring_last_day) if w.expiring > 0 else "",
        "notice_days": str(w.notice_days),
        "points_12m": str(w.points_12m),
    }


def history_row(line: HistoryLine, lang: str, tz: str) -> dict[str, str]:
    """One ledger entry for the history list, in the reader's language and zone."""
    return {
        "id": str(line.id),
        "when": local_time(line.at, tz),
        "kind": line.kind,
        "label": translate(line.reason_key, lang),
        "kind_label": translate(line.kind_key, lang),
        "note": line.note,
        "points": points_text(line.points),
        "plus": "1" if line.points > 0 else "",
    }


class WalletState(FormMixin, PatientState):
    """The wallet of the signed-in patient."""

    info: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    card: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    history: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    @rx.event
    def load(self) -> Any:
        """Read the wallet."""
        self._clear()
        self.info, self.card, self.history = {}, {}, []
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        lang, tz = self.lang, self._tenant().timezone
        got, ev = self._run(PAT, lambda s, p: wallet(session=s, actor=p, now=utcnow()), self._fail)
        if ev is not None:
            return ev
        if got is not None:
            self.info = wallet_info(got)
            self.card = level_info(got, lang)
            self.history = [history_row(h, lang, tz) for h in got.history]
        return self._refresh_unread()


def _figure(label_key: str, value: Any, id_: str, *, size: str = "5") -> rx.Component:
    return rx.vstack(
        rx.text(value, size=size, weight="bold", id=id_),
        rx.text(t(label_key), size="1", color_scheme="gray"),
        spacing="0",
        align="center",
        flex="1",
    )


def _history_item(h: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(h["label"], size="2", weight="medium"),
            rx.cond(h["note"] != "", rx.text(h["note"], size="1", color_scheme="gray")),
            rx.text(h["when"], size="1", color_scheme="gray"),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.text(
            h["points"],
            weight="bold",
            color=rx.cond(h["plus"] != "", rx.color("green", 11), rx.color("red", 11)),
        ),
        width="100%",
        align="center",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        id="entry-" + h["id"],
        class_name="wallet-entry",
    )


def member_links() -> rx.Component:
    """Card, points, rewards and challenges side by side (member pages link each other)."""

    def link(icon: str, label: str, path: str, id_: str) -> rx.Component:
        return rx.link(
            rx.vstack(
                rx.icon(icon, size=20, color=AppState.tenant_color),
                rx.text(t(label), size="1"),
                align="center",
                spacing="1",
            ),
            href=AppState.base_path + path,
            id=id_,
            underline="none",
            color=rx.color("gray", 12),
            flex="1",
            padding_y="6px",
        )

    return rx.hstack(
        link("id-card", "mycard.title", "/card", "link-card"),
        link("coins", "mywallet.title", "/wallet", "link-wallet"),
        link("gift", "myrewards.title", "/rewards", "link-rewards"),
        link("trophy", "mychallenge.title", "/challenges", "link-challenges"),
        width="100%",
        border=f"1px solid {rx.color('gray', 4)}",
        border_radius="12px",
    )


@page("/wallet", title="Points", on_load=WalletState.load)
def wallet_page() -> rx.Component:
    """The wallet."""
    s = WalletState
    i = s.info
    return patient_layout(
        rx.vstack(
            rx.heading(t("mywallet.title"), size="6"),
            form_error(s),
            rx.card(
                rx.vstack(
                    rx.text(t("mywallet.balance"), size="2", color_scheme="gray"),
                    rx.text(i["balance"], size="8", weight="bold", id="wallet-balance"),
                    rx.cond(
                        s.card["level"] != "",
                        rx.badge(s.card["level"], color_scheme="amber", id="wallet-level"),
                    ),
                    rx.hstack(
                        _figure("mywallet.spendable", i["spendable"], "wallet-spendable"),
                        _figure("mywallet.points_12m", i["points_12m"], "wallet-12m"),
                        width="100%",
                    ),
                    align="center",
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                style={"borderTop": f"4px solid {AppState.tenant_color}"},
            ),
            rx.cond(
                i["locked"] != "",
                rx.callout(
                    rx.text(
                        t("mywallet.locked"),
                        " ",
                        rx.text.span(i["locked"], weight="bold"),
                        " · ",
                        t("mywallet.unlocks_on"),
                        " ",
                        rx.text.span(i["unlocks_on"], weight="bold"),
                    ),
                    icon="lock",
                    color_scheme="blue",
                    width="100%",
                    id="wallet-locked",
                ),
            ),
            rx.cond(
                i["expiring"] != "",
                rx.callout(
                    rx.text(
                        t("mywallet.expiring"),
                        " ",
                        rx.text.span(i["expiring"], weight="bold"),
                        " · ",
                        t("mywallet.expires_by"),
                        " ",
                        rx.text.span(i["expiring_last_day"], weight="bold"),
                    ),
                    icon="hourglass",
                    color_scheme="amber",
                    width="100%",
                    id="wallet-expiring",
                ),
            ),
            rx.cond(
                s.card["next"] != "",
                rx.text(s.card["next"], size="2", color_scheme="gray", id="wallet-next-level"),
            ),
            member_links(),
            rx.vstack(
                rx.text(t("mywallet.history"), weight="bold"),
                rx.cond(
                    s.history.length() > 0,  # type: ignore[attr-defined]
                    rx.vstack(rx.foreach(s.history, _history_item), spacing="0", width="100%"),
                    rx.text(t("mywallet.no_history"), size="2", color_scheme="gray"),
                ),
                spacing="1",
                width="100%",
                id="wallet-history",
            ),
            spacing="3",
            width="100%",
        ),
        active="member",
    )
