"""The member home (or, on the platform's own host, the product landing page)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.i18n import t
from components.layout import language_switch, patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.patients import my_profile
from prm_saas.booking.services import my_bookings
from prm_saas.display import local_time, masked_phone
from prm_saas.membership.wallet import wallet
from tenants.resolution import tenant_by_slug
from tenants.types import utcnow

DEMO_SLUGS = ("sunshine", "kangjian")


class PatientHomeState(PatientState):
    """What the member sees first."""

    member_since: str = ""
    phone_masked: str = ""
    demo_tenants: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    next_booking: dict[str, str] = {}  # noqa: RUF012 - the soonest booking still ahead
    # The member card at a glance: number, level, balance, points about to expire.
    card: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    @rx.event
    def load(self) -> Any:
        """Landing page on the platform host; else the signed-in member's home."""
        res = self._resolution()
        if not res.requested:
            self._show_tenant(res)
            self.demo_tenants = [
                {"slug": d.slug, "name": d.name}
                for d in (tenant_by_slug(s) for s in DEMO_SLUGS)
                if d is not None
            ]
            return None
        redirect = self._load(PrincipalKind.PATIENT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        tenant = self._tenant()
        got, ev = self._run(
            PrincipalKind.PATIENT,
            lambda s, p: (
                my_profile(session=s, actor=p),
                my_bookings(session=s, actor=p),
                wallet(session=s, actor=p, now=utcnow(), history=False),
            ),
            lambda _m, _f: None,
        )
        profile, bookings, mine = got or (None, [], None)
        ahead = sorted(
            (b for b in bookings if b.status in ("held", "confirmed")), key=lambda b: b.starts_at
        )
        english = self.lang == "en"
        self.next_booking = (
            {
                "id": str(ahead[0].id),
                "package": (ahead[0].package_name_en if english else ahead[0].package_name_zh),
                "when": f"{ahead[0].day.isoformat()} {ahead[0].local_start}",
                "status": ahead[0].status,
            }
            if ahead
            else {}
        )
        level = mine.level if mine is not None else None
        level_name = ""
        if level is not None:
            level_name = (level.name_en or level.name_zh) if english else level.name_zh
        self.card = (
            {
                "number": mine.card_number,
                "level": level_name,
                "balance": str(mine.balance),
                "expiring": str(mine.expiring) if mine.expiring > 0 else "",
                "by": mine.expiring_last_day.isoformat() if mine.expiring_last_day else "",
            }
            if mine is not None and mine.card_number
            else {}
        )
        if profile is not None:
            self.member_since = local_time(profile.created_at, tenant.timezone)[:10]
            self.phone_masked = masked_phone(profile.phone) or (profile.email or "")
        return ev or self._refresh_unread()


def _link_tile(icon: str, label: str, path: str, id: str, badge: Any = None) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.icon(icon, size=22, color=AppState.tenant_color),
                rx.text(t(label), weight="medium"),
                rx.spacer(),
                badge if badge is not None else rx.fragment(),
                rx.icon("chevron-right", size=16, color=rx.color("gray", 9)),
                align="center",
                spacing="3",
                min_height="32px",
            ),
            width="100%",
        ),
        href=AppState.base_path + path,
        underline="none",
        color=rx.color("gray", 12),
        id=id,
        width="100%",
    )


def member_home() -> rx.Component:
    """The signed-in member's home."""
    s = PatientHomeState
    return patient_layout(
        rx.vstack(
            rx.heading(
                rx.cond(AppState.lang == "en", "Hello, ", "您好，"),
                AppState.user_name,
                size="6",
                id="patient-hello",
            ),
            rx.link(
                rx.card(
                    rx.vstack(
                        rx.hstack(
                            rx.icon("id-card", size=20),
                            rx.text(t("patient.card"), weight="bold"),
                            rx.spacer(),
                            rx.icon("chevron-right", size=16, color=rx.color("gray", 9)),
                            width="100%",
                        ),
                        rx.cond(
                            s.card.contains("number"),  # type: ignore[attr-defined]
                            rx.vstack(
                                rx.hstack(
                                    rx.code(s.card["number"], id="home-card-number"),
                                    rx.cond(
                                        s.card["level"] != "",
                                        rx.badge(s.card["level"], color_scheme="amber"),
                                        rx.fragment(),
                                    ),
                                    align="center",
                                    spacing="2",
                                ),
                                rx.hstack(
                                    rx.text(t("mywallet.balance"), size="2", color_scheme="gray"),
                                    rx.text(
                                        s.card["balance"],
                                        size="4",
                                        weight="bold",
                                        id="home-points",
                                    ),
                                    align="baseline",
                                    spacing="2",
                                ),
                                rx.cond(
                                    s.card["expiring"] != "",
                                    rx.text(
                                        t("mywallet.expiring"),
                                        " ",
                                        s.card["expiring"],
                                        " · ",
                                        t("mywallet.expires_by"),
                                        " ",
                                        s.card["by"],
                                        size="1",
                                        color_scheme="amber",
                                        id="home-expiring",
                                    ),
                                    rx.fragment(),
                                ),
                                spacing="1",
                            ),
                            rx.fragment(
                                rx.text(s.phone_masked, size="2", color_scheme="gray"),
                                rx.text(s.member_since, size="1", color_scheme="gray"),
                            ),
                        ),
                        rx.text(t("mycard.home_hint"), size="2"),
                        spacing="1",
                    ),
                    width="100%",
                    style={"borderTop": f"4px solid {AppState.tenant_color}"},
                ),
                href=AppState.base_path + "/card",
                underline="none",
                color=rx.color("gray", 12),
                id="home-card",
                width="100%",
            ),
            _link_tile(
                "inbox",
                "patient.inbox",
                "/inbox",
                "home-inbox",
                rx.cond(
                    s.inbox_unread > 0,
                    rx.badge(s.inbox_unread, color_scheme="red", variant="solid", radius="full"),
                ),
            ),
            rx.cond(
                s.next_booking.contains("id"),  # type: ignore[attr-defined]
                rx.link(
                    rx.callout(
                        rx.text(
                            t("patient.next_booking"),
                            " ",
                            s.next_booking["when"],
                            " · ",
                            s.next_booking["package"],
                        ),
                        icon="calendar-clock",
                        color_scheme=rx.cond(s.next_booking["status"] == "held", "amber", "green"),
                        width="100%",
                    ),
                    href=AppState.base_path + "/bookings/" + s.next_booking["id"],
                    underline="none",
                    id="home-next-booking",
                    width="100%",
                ),
            ),
            _link_tile("shopping-bag", "patient.mall", "/mall", "home-mall"),
            _link_tile("calendar-check", "patient.bookings", "/bookings", "home-bookings"),
            _link_tile("bell-ring", "patient.preferences", "/preferences", "home-preferences"),
            _link_tile("coins", "patient.points", "/wallet", "home-wallet"),
            _link_tile("gift", "myrewards.title", "/rewards", "home-rewards"),
            _link_tile("trophy", "patient.challenges", "/challenges", "home-challenges"),
            spacing="4",
            width="100%",
        ),
        active="home",
    )


def landing() -> rx.Component:
    """The platform's own front page."""
    return rx.center(
        rx.vstack(
            rx.hstack(rx.spacer(), language_switch(), width="100%"),
            rx.heading(t("app.name"), size="8"),
            rx.heading(t("landing.title"), size="5", color_scheme="gray"),
            rx.text(t("landing.body"), max_width="560px", text_align="center"),
            rx.cond(
                PatientHomeState.demo_tenants.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(
                    rx.text(t("landing.demo"), weight="bold"),
                    rx.foreach(
                        PatientHomeState.demo_tenants,
                        lambda d: rx.hstack(
                            rx.text(d["name"]),
                            rx.link("/t/" + d["slug"], href="/t/" + d["slug"]),
                            rx.link(t("login.staff_link"), href="/t/" + d["slug"] + "/admin/login"),
                            spacing="3",
                        ),
                    ),
                    align="center",
                ),
            ),
            rx.link(rx.button(t("signup_ui.link"), size="3"), href="/signup", id="signup-link"),
            rx.link(rx.button(t("landing.platform"), variant="outline"), href="/platform/login"),
            spacing="4",
            align="center",
            padding="48px 16px",
        ),
        width="100%",
    )


@page("", title="Home", on_load=PatientHomeState.load)
def home() -> rx.Component:
    """/ on the platform host is the landing page; / of a tenant is the member home."""
    return rx.cond(
        (AppState.tenant_slug == "") & (AppState.page_status == "ok"),
        landing(),
        member_home(),
    )
