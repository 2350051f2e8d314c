"""Layouts: patient (mobile-first), admin (dense desktop), platform console.

Each layout shows a spinner until the page's on_load has resolved the tenant,
the 404 page for an unknown tenant or a page the user may not see, and a
language switch in its header.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.i18n import t, t_var
from components.patient_state import PatientState

ADMIN_NAV = [
    ("dashboard", "dashpage.nav", "/admin/dashboard", "chart-line", False),
    ("home", "nav.home", "/admin", "layout-dashboard", False),
    ("frontdesk", "nav.frontdesk", "/admin/frontdesk", "clipboard-check", False),
    ("schedules", "nav.schedules", "/admin/schedules", "calendar-clock", True),
    ("catalog", "nav.catalog", "/admin/catalog", "package", True),
    ("staff", "nav.staff", "/admin/staff", "users", True),
    ("messages", "nav.messages", "/admin/messages", "send", True),
    ("templates", "nav.templates", "/admin/templates", "file-text", True),
    (
        "messaging_settings",
        "nav.messaging_settings",
        "/admin/messaging-settings",
        "bell-ring",
        True,
    ),
    ("orders", "nav.orders", "/admin/orders", "receipt", True),
    ("members", "nav.admin_members", "/admin/members", "id-card", False),
    ("tags", "nav.tags", "/admin/tags", "tags", True),
    ("audiences", "nav.audiences", "/admin/audiences", "users-round", True),
    ("campaigns", "nav.campaigns", "/admin/campaigns", "megaphone", True),
    ("automations", "automations.nav", "/admin/automations", "workflow", True),
    ("challenges", "nav.admin_challenges", "/admin/challenges", "trophy", True),
    ("membership", "nav.admin_membership", "/admin/membership", "badge-percent", True),
    ("rewards", "nav.admin_rewards", "/admin/rewards", "gift", True),
    ("billing", "billing_ui.nav", "/admin/billing", "credit-card", True),
    ("settings", "nav.settings", "/admin/settings", "settings", True),
    ("audit", "nav.audit", "/admin/audit", "scroll-text", True),
]


def language_switch(color: str | None = None) -> rx.Component:
    """A button that flips between 中文 and English."""
    return rx.button(
        rx.icon("languages", size=16),
        t("lang.switch"),
        variant="ghost",
        size="2",
        id="lang-switch",
        color=color,
        on_click=AppState.set_lang(rx.cond(AppState.lang == "en", "zh-CN", "en")),
    )


def loading_view() -> rx.Component:
    """Shown until on_load has resolved the tenant and the user."""
    return rx.center(
        rx.spinner(size="3"), rx.text(t("common.loading"), margin_left="2"), height="60vh"
    )


def not_found_view() -> rx.Component:
    """The 404 page: unknown tenant, or a page this user may not see."""
    return rx.center(
        rx.vstack(
            rx.heading("404", size="9", color_scheme="gray"),
            rx.heading(t("not_found.title"), size="6", id="not-found"),
            rx.text(t("not_found.body"), color_scheme="gray"),
            rx.link(t("not_found.home"), href="/"),
            language_switch(),
            align="center",
            spacing="3",
        ),
        height="80vh",
    )


def gate(content: rx.Component) -> rx.Component:
    """Content once the page is resolved; 404 or a spinner otherwise."""
    return rx.match(
        AppState.page_status,
        ("not_found", not_found_view()),
        ("loading", loading_view()),
        content,
    )


def brand(size: str = "4") -> rx.Component:
    """The tenant's logo (if any) and name in its primary color."""
    return rx.hstack(
        rx.cond(
            AppState.tenant_logo != "",
            rx.image(src=AppState.tenant_logo, height="28px", alt=AppState.tenant_name),
            rx.box(
                width="12px", height="28px", border_radius="3px", background=AppState.tenant_color
            ),
        ),
        rx.heading(AppState.tenant_name, size=size, id="tenant-name"),
        align="center",
        spacing="2",
    )


def _billing_link() -> rx.Component:
    """For tenant admins in the admin pages: the way to the billing page."""
    return rx.cond(
        AppState.is_admin & (AppState.user_name != ""),
        rx.link(
            " ",
            t("billing_ui.banner_link"),
            href=AppState.base_path + "/admin/billing",
            id="banner-billing-link",
            margin_left="8px",
        ),
    )


def status_banner() -> rx.Component:
    """Read-only notice for suspended tenants, a reminder for past-due ones."""
    return rx.fragment(
        rx.cond(
            AppState.read_only,
            rx.callout.root(
                rx.callout.icon(rx.icon("lock")),
                rx.callout.text(
                    rx.cond(
                        AppState.billing_suspension,
                        t("billing_ui.banner_suspended_billing"),
                        t("read_only.banner"),
                    ),
                    _billing_link(),
                ),
                color_scheme="orange",
                id="read-only-banner",
                width="100%",
            ),
        ),
        rx.cond(
            AppState.tenant_status == "past_due",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.callout.text(
                    rx.cond(
                        AppState.billing_grace_until != "",
                        rx.text(
                            t("billing_ui.banner_past_due_before"),
                            rx.text(AppState.billing_grace_until, as_="span", weight="bold"),
                            t("billing_ui.banner_past_due_after"),
                            as_="span",
                        ),
                        t("past_due.banner"),
                    ),
                    _billing_link(),
                ),
                color_scheme="amber",
                width="100%",
                id="past-due-banner",
            ),
        ),
    )


def _nav_item(key: str, label: str, path: str, icon: str, active: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(t(label), size="2"), align="center", spacing="2"),
        href=AppState.base_path + path,
        id=f"nav-{key}",
        padding="6px 10px",
        border_radius="6px",
        width="100%",
        underline="none",
        color=rx.color("gray", 12),
        background=rx.color("accent", 4) if key == active else "transparent",
        _hover={"background": rx.color("gray", 4)},
    )


def admin_layout(content: rx.Component, *, active: str) -> rx.Component:
    """Desktop admin shell: sidebar, header with tenant brand, user and language."""
    sidebar = rx.vstack(
        brand("3"),
        rx.divider(),
        *[
            rx.cond(AppState.is_admin, _nav_item(k, lbl, p, ic, active))
            if admin_only
            else _nav_item(k, lbl, p, ic, active)
            for k, lbl, p, ic, admin_only in ADMIN_NAV
        ],
        rx.spacer(),
        rx.text(AppState.user_name, size="2", weight="bold", id="user-name"),
        rx.badge(t_var("role", AppState.user_role, ["tenant_admin", "staff"]), variant="soft"),
        rx.button(
            rx.icon("log-out", size=14),
            t("nav.logout"),
            variant="outline",
            size="1",
            on_click=AppState.sign_out_staff,
            id="sign-out",
            width="100%",
        ),
        width="220px",
        min_width="220px",
        height="100vh",
        padding="16px",
        border_right=f"1px solid {rx.color('gray', 5)}",
        position="sticky",
        top="0",
        spacing="2",
    )
    main = rx.vstack(
        rx.hstack(rx.spacer(), language_switch(), width="100%"),
        status_banner(),
        content,
        width="100%",
        padding="16px 24px",
        spacing="4",
        align="start",
    )
    return gate(rx.hstack(sidebar, main, spacing="0", align="start", width="100%"))


def _patient_tab(
    key: str, label: str, icon: str, active: str, *, href: Any = None, **props: Any
) -> rx.Component:
    """One item of the patient bottom navigation: a thumb-sized target."""
    color = AppState.tenant_color if key == active else rx.color("gray", 11)
    return rx.link(
        rx.vstack(
            rx.box(
                rx.icon(icon, size=22),
                props.pop("badge", rx.fragment()),
                position="relative",
                line_height="0",
            ),
            rx.text(t(label), size="1", weight="medium" if key == active else "regular"),
            align="center",
            spacing="1",
        ),
        href=href,
        id=props.pop("id", f"nav-{key}"),
        underline="none",
        color=color,
        flex="1",
        padding_y="8px",
        display="flex",
        justify_content="center",
        **props,
    )


def patient_layout(
    content: rx.Component, *, signed_in: bool = True, active: str = ""
) -> rx.Component:
    """Mobile-first patient shell: brand bar, a narrow column, bottom navigation."""
    header = rx.hstack(
        rx.link(brand("4"), href=AppState.base_path + "/", underline="none", color="white"),
        rx.spacer(),
        language_switch(color="white"),
        width="100%",
        padding="12px 16px",
        background=AppState.tenant_color,
        color="white",
        align="center",
    )
    unread_badge = rx.cond(
        PatientState.inbox_unread > 0,
        rx.box(
            rx.cond(PatientState.inbox_unread > 99, "99+", PatientState.inbox_unread),
            id="inbox-badge",
            position="absolute",
            top="-6px",
            left="14px",
            min_width="18px",
            height="18px",
            padding_x="5px",
            border_radius="9px",
            background=rx.color("red", 9),
            color="white",
            font_size="11px",
            font_weight="600",
            line_height="18px",
            text_align="center",
        ),
    )
    nav = rx.hstack(
        _patient_tab("home", "nav.home", "house", active, href=AppState.base_path + "/"),
        _patient_tab("mall", "nav.mall", "heart-pulse", active, href=AppState.base_path + "/mall"),
        _patient_tab(
            "bookings",
            "nav.bookings",
            "calendar-check",
            active,
            href=AppState.base_path + "/bookings",
        ),
        _patient_tab("member", "nav.member", "id-card", active, href=AppState.base_path + "/card"),
        _patient_tab(
            "inbox",
            "nav.inbox",
            "inbox",
            active,
            href=AppState.base_path + "/inbox",
            badge=unread_badge,
        ),
        _patient_tab(
            "preferences",
            "nav.me",
            "circle-user-round",
            active,
            href=AppState.base_path + "/preferences",
        ),
        _patient_tab(
            "sign-out",
            "nav.logout",
            "log-out",
            active,
            href="#",
            on_click=AppState.sign_out_patient,
            id="patient-sign-out",
        ),
        spacing="0",
        width="100%",
        max_width="480px",
        position="fixed",
        bottom="0",
        background=rx.color("gray", 1),
        border_top=f"1px solid {rx.color('gray', 5)}",
        padding_bottom="env(safe-area-inset-bottom)",
        z_index="10",
    )
    return gate(
        rx.vstack(
            header,
            status_banner(),
            rx.box(content, width="100%", padding="16px", padding_bottom="80px"),
            nav if signed_in else rx.fragment(),
            width="100%",
            max_width="480px",
            margin_x="auto",
            min_height="100vh",
            spacing="0",
        )
    )


def platform_layout(content: rx.Component, *, active: str) -> rx.Component:
    """Platform console shell: top bar with sections, user and language."""

    def item(key: str, label: str, href: str) -> rx.Component:
        return rx.link(
            t(label),
            href=href,
            id=f"nav-{key}",
            weight="bold" if key == active else "regular",
            underline="none",
        )

    bar = rx.hstack(
        rx.heading(t("app.name"), size="4"),
        rx.badge("Platform", color_scheme="purple"),
        item("tenants", "nav.tenants", "/platform"),
        item("dashboard", "nav.platform_dashboard", "/platform/dashboard"),
        item("plans", "nav.plans", "/platform/plans"),
        item("audit", "nav.audit", "/platform/audit"),
        rx.spacer(),
        rx.text(AppState.user_name, size="2", id="user-name"),
        language_switch(),
        rx.button(
            t("nav.logout"),
            variant="outline",
            size="1",
            on_click=AppState.sign_out_operator,
            id="sign-out",
        ),
        width="100%",
        padding="12px 24px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        align="center",
        spacing="4",
    )
    return gate(
        rx.vstack(
            bar, rx.box(content, padding="16px 24px", width="100%"), width="100%", spacing="0"
        )
    )


def centered_card(*children: rx.Component, width: str = "400px") -> rx.Component:
    """A card in the middle of the page, for sign-in style forms."""
    return rx.center(
        rx.card(
            rx.vstack(*children, spacing="3", width="100%"), width="100%", max_width=width, size="3"
        ),
        padding_y="48px",
        padding_x="16px",
        width="100%",
    )
