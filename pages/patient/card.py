"""The patient's member card (会员卡), mobile first: the card number as a QR code
and a barcode for the front desk to scan, the level and its benefits; a button
to open a card when the patient has none yet.

Pages only call services (prm_saas.membership); every check lives there.
"""

from __future__ import annotations

import base64
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from pages.patient.wallet import PAT, level_info, member_links
from prm_saas.booking.qr import checkin_qr_svg
from prm_saas.membership.barcode import svg as barcode_svg
from prm_saas.membership.cards import issue_card
from prm_saas.membership.referrals import referral_summary
from prm_saas.membership.wallet import wallet
from tenants.types import utcnow


def barcode_uri(number: str) -> str:
    """The card number as a Code 128 barcode, an SVG data URI for an image ("" if none)."""
    if not number:
        return ""
    try:
        picture = barcode_svg(number)
    except ValueError:
        return ""  # a character Code 128 B cannot hold: the QR code still works
    return "data:image/svg+xml;base64," + base64.b64encode(picture.encode()).decode()


class CardState(FormMixin, PatientState):
    """The signed-in patient's card."""

    card: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    balance: str = ""
    qr: str = ""
    barcode: str = ""
    invite_url: str = ""
    invite_counts: str = ""

    def _fetch(self) -> None:
        lang = self.lang
        got, _ev = self._run(PAT, lambda s, p: wallet(session=s, actor=p, now=utcnow()), self._fail)
        if got is None:
            return
        self.card = level_info(got, lang)
        self.balance = str(got.balance)
        number = got.card_number
        self.qr = checkin_qr_svg(number) if number else ""
        self.barcode = barcode_uri(number)
        ref, _ev = self._run(PAT, lambda s, p: referral_summary(session=s, actor=p), self._fail)
        if ref is not None:
            self.invite_url = ref.share_url
            self.invite_counts = self.tr(
                "mycard.invite_counts", joined=ref.joined, rewarded=ref.rewarded
            )

    @rx.event
    def load(self) -> Any:
        """The card, or the offer to open one."""
        self._clear()
        self.card, self.qr, self.barcode, self.balance = {}, "", "", ""
        self.invite_url, self.invite_counts = "", ""
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        self._fetch()
        return self._refresh_unread()

    @rx.event
    def open_card(self) -> Any:
        """Open my card (one per patient: a second tap shows the same card)."""
        self._clear()
        done, ev = self._run(
            PAT,
            lambda s, p: issue_card(s, actor=p, patient_id=p.id, now=utcnow()),
            self._fail,
        )
        if ev is not None:
            return ev
        if done is not None:
            self._fetch()
            self.notice = self.tr("mycard.opened")
        return None


def _no_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon("id-card", size=40, color=AppState.tenant_color),
            rx.text(t("mycard.none"), align="center"),
            rx.button(
                t("mycard.open"),
                size="3",
                width="100%",
                on_click=CardState.open_card,
                id="open-card",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _the_card() -> rx.Component:
    s = CardState
    c = s.card
    return rx.vstack(
        rx.box(
            rx.vstack(
                rx.hstack(
                    rx.text(AppState.tenant_name, weight="bold"),
                    rx.spacer(),
                    rx.cond(
                        c["level"] != "",
                        rx.badge(
                            c["level"], color_scheme="amber", variant="solid", id="card-level"
                        ),
                    ),
                    width="100%",
                ),
                rx.text(
                    c["number"],
                    size="6",
                    weight="bold",
                    letter_spacing="2px",
                    font_family="monospace",
                    id="card-number",
                ),
                rx.text(t("mycard.points"), " ", s.balance, size="2"),
                spacing="2",
                width="100%",
            ),
            width="100%",
            padding="16px",
            border_radius="14px",
            color="white",
            background=AppState.tenant_color,
        ),
        rx.vstack(
            rx.image(src=s.qr, width="200px", height="200px", id="card-qr", alt=c["number"]),
            rx.cond(
                s.barcode != "",
                rx.image(src=s.barcode, width="100%", max_width="320px", id="card-barcode", alt=""),
            ),
            rx.text(t("mycard.show_at_desk"), size="1", color_scheme="gray"),
            align="center",
            spacing="2",
            width="100%",
            padding="12px",
            border=f"1px solid {rx.color('gray', 4)}",
            border_radius="12px",
            background="white",
        ),
        rx.vstack(
            rx.text(t("mycard.benefits"), weight="bold"),
            rx.cond(
                c["benefits"] != "",
                rx.text(c["benefits"], size="2", id="card-benefits"),
                rx.text(t("mycard.no_benefits"), size="2", color_scheme="gray"),
            ),
            rx.cond(
                c["next"] != "",
                rx.text(c["next"], size="2", color_scheme="gray", id="card-next-level"),
            ),
            spacing="1",
            width="100%",
        ),
        rx.cond(s.invite_url != "", _invite()),
        spacing="3",
        width="100%",
    )


def _invite() -> rx.Component:
    """Invite friends: the share link with the card number as the referral code."""
    s = CardState
    return rx.vstack(
        rx.text(t("mycard.invite"), weight="bold"),
        rx.text(t("mycard.invite_hint"), size="2", color_scheme="gray"),
        rx.hstack(
            rx.input(value=s.invite_url, read_only=True, width="100%", id="invite-url"),
            rx.button(
                rx.icon("copy", size=16),
                t("mycard.invite_copy"),
                variant="soft",
                on_click=[rx.set_clipboard(s.invite_url), rx.toast.success(t("mycard.copied"))],
                id="invite-copy",
            ),
            width="100%",
        ),
        rx.text(s.invite_counts, size="2", id="invite-counts"),
        spacing="1",
        width="100%",
    )


@page("/card", title="Member card", on_load=CardState.load)
def card_page() -> rx.Component:
    """The member card."""
    s = CardState
    return patient_layout(
        rx.vstack(
            rx.heading(t("mycard.title"), size="6"),
            form_error(s),
            rx.cond(
                s.card.contains("number") & (s.card["number"] != ""),  # type: ignore[attr-defined]
                _the_card(),
                rx.cond(s.card.contains("number"), _no_card()),  # type: ignore[attr-defined]
            ),
            member_links(),
            spacing="3",
            width="100%",
        ),
        active="member",
    )
