"""The membership policy (会员政策) for admins with MEMBERS_MANAGE: points expiry,
the return window, the negative-balance policy, the pre-expiry notice, the card
number format and a card at self-registration; levels (thresholds in points or
yuan over 12 months, discount, points multiplier; add, edit, deactivate); and
the earn rules (points per kind, on or off).

Every value is re-checked by prm_saas.membership.admin (handlers are a public
API); this page only turns form fields into the service's input.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import (
    FormMixin,
    client_id,
    field,
    form_checked,
    form_dialog,
    form_error,
    form_str,
    select_field,
)
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import yuan
from prm_saas.i18n import translate
from prm_saas.membership import admin as membership
from prm_saas.membership.models import NegativePolicy

NEGATIVE_POLICIES = [
    (NegativePolicy.FLOOR_ZERO.value, "membership.admin.negative.floor_zero"),
    (NegativePolicy.ALLOW_NEGATIVE.value, "membership.admin.negative.allow_negative"),
]
_POLICY_FIELDS = (
    "points_expiry_months",
    "return_window_days",
    "negative_policy",
    "notice_days",
    "card_prefix",
    "card_digits",
)
_LEVEL_FIELDS = (
    "name_zh",
    "name_en",
    "rank",
    "min_points_12m",
    "min_spent_yuan_12m",
    "discount_percent",
    "multiplier_percent",
)


def _plain_yuan(fen: int) -> str:
    """Fen as yuan for an input: 500000 -> "5000.00", 0 -> ""."""
    return "" if not fen else f"{fen // 100}.{fen % 100:02d}"


class MembershipAdminState(FormMixin, AppState):
    """The policy form, the levels and their editor, the earn rules."""

    tab: str = "policy"
    policy: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    levels: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    rules: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    rule_errors: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    form_key: int = 0
    level_open: bool = False
    level_id: str = ""  # "" = a new level
    level: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    def _refresh(self) -> Any:
        def read(session: Any, actor: Any) -> bool:
            p = membership.get_policy(session=session, actor=actor)
            self.policy = {
                "points_expiry_months": str(p.points_expiry_months),
                "return_window_days": str(p.return_window_days),
                "negative_policy": p.negative_policy,
                "notice_days": str(p.notice_days),
                "card_prefix": p.card_prefix,
                "card_digits": str(p.card_digits),
                "auto_issue_card": "1" if p.auto_issue_card else "",
                "next_card": p.next_card_number,
            }
            self.levels = [
                {
                    "id": str(lv.id),
                    "name": lv.name_zh,
                    "name_en": lv.name_en,
                    "rank": str(lv.rank),
                    "min_points": str(lv.min_points_12m),
                    "min_spent": yuan(lv.min_spent_fen_12m) if lv.min_spent_fen_12m else "",
                    "min_spent_yuan": _plain_yuan(lv.min_spent_fen_12m),
                    "discount": str(lv.discount_percent),
                    "multiplier": str(lv.multiplier_percent),
                    "multiplier_x": f"{lv.multiplier_percent / 100:g}",
                    "members": str(lv.members),
                    "active": "1" if lv.active else "",
                }
                for lv in membership.list_levels(session=session, actor=actor)
            ]
            self.rules = [
                {
                    "kind": r.kind,
                    "label": translate(r.label_key, "zh-CN"),
                    "label_en": translate(r.label_key, "en"),
                    "points": str(r.points),
                    "active": "1" if r.active else "",
                    "max": str(r.max_points),
                }
                for r in membership.list_rules(session=session, actor=actor)
            ]
            return True

        _done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        self.form_key += 1
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins with MEMBERS_MANAGE only; others get the 404 page."""
        self._clear()
        self.level_open = False
        self.rule_errors = {}
        redirect = self._load(PrincipalKind.STAFF, Permission.MEMBERS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def set_tab(self, value: str) -> None:
        """Switch between policy, levels and earn rules."""
        if value in ("policy", "levels", "rules"):
            self.tab = value
            self._clear()
            self.rule_errors = {}

    # --- policy -----------------------------------------------------------------------------

    @rx.event
    def save_policy(self, form: dict[str, Any]) -> Any:
        """Save the whole policy form."""
        self._clear()
        data = membership.PolicyInput(
            **{k: form_str(form, k) for k in _POLICY_FIELDS},
            auto_issue_card=form_checked(form, "auto_issue_card"),
        )
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: membership.update_policy(session=s, actor=p, data=data),
            self._fail,
        )
        if ev is not None or done is None:
            return ev
        self.notice = self.tr("common.saved")
        return self._refresh()

    # --- levels -----------------------------------------------------------------------------

    @rx.event
    def new_level(self) -> None:
        """Open an empty level editor."""
        self._clear()
        self.level_id = ""
        self.level = {
            "name_zh": "",
            "name_en": "",
            "rank": str(len(self.levels)),
            "min_points_12m": "0",
            "min_spent_yuan_12m": "",
            "discount_percent": "0",
            "multiplier_percent": "100",
        }
        self.form_key += 1
        self.level_open = True

    @rx.event
    def edit_level(self, level_id: str) -> None:
        """Open the editor on a row of the table (the service re-checks the id)."""
        self._clear()
        for lv in self.levels:
            if lv["id"] == str(level_id):
                self.level_id = lv["id"]
                self.level = {
                    "name_zh": lv["name"],
                    "name_en": lv["name_en"],
                    "rank": lv["rank"],
                    "min_points_12m": lv["min_points"],
                    "min_spent_yuan_12m": lv["min_spent_yuan"],
                    "discount_percent": lv["discount"],
                    "multiplier_percent": lv["multiplier"],
                }
                self.form_key += 1
                self.level_open = True

    @rx.event
    def set_level_open(self, value: bool) -> None:
        """Close (or open) the level editor."""
        self.level_open = bool(value)
        if not self.level_open:
            self.field_errors = {}

    @rx.event
    def save_level(self, form: dict[str, Any]) -> Any:
        """Create or change a level."""
        self._clear()
        data = membership.LevelInput(**{k: form_str(form, k) for k in _LEVEL_FIELDS})
        lid = client_id(self.level_id)

        def save(session: Any, actor: Any) -> Any:
            if lid is None:
                return membership.create_level(session=session, actor=actor, data=data)
            return membership.update_level(session=session, actor=actor, level_id=lid, data=data)

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None or done is None:
            return ev
        self.level_open = False
        self.notice = self.tr("common.saved")
        return self._refresh()

    @rx.event
    def toggle_level(self, level_id: str, active: bool) -> Any:
        """Activate or deactivate a level from the table."""
        lid = client_id(level_id)
        if lid is None:
            return None
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: membership.set_level_active(
                session=s, actor=p, level_id=lid, active=bool(active)
            ),
            "common.saved",
            self._refresh,
        )

    # --- earn rules -------------------------------------------------------------------------

    @rx.event
    def save_rule(self, form: dict[str, Any]) -> Any:
        """Save one earn rule's points and switch (each row is its own form)."""
        self._clear()
        self.rule_errors = {}
        kind = form_str(form, "kind")[:40]
        pts = form_str(form, "points")
        active = form_checked(form, "active")
        errors: dict[str, str] = {}

        def fail(message: str, fields: dict[str, str]) -> None:
            self.error = message
            errors.update(fields)

        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: membership.set_rule(
                session=s, actor=p, kind=kind, points=pts, active=active
            ),
            fail,
        )
        if ev is not None:
            return ev
        if done is None:
            self.rule_errors = {kind: errors.get("points") or errors.get("kind") or self.error}
            return None
        self.notice = self.tr("membership.admin.rule_saved")
        return self._refresh()


# --- pieces -------------------------------------------------------------------------------


def _en(zh: Any, en: Any) -> Any:
    return rx.cond((AppState.lang == "en") & (en != ""), en, zh)


def _checkbox(name: str, checked: Any, label_key: str, id: Any) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.el.input(type="checkbox", name=name, default_checked=checked, id=id),
            rx.text(t(label_key), size="2"),
            align="center",
            spacing="2",
        ),
        style={"cursor": "pointer"},
    )


def _policy_tab() -> rx.Component:
    s = MembershipAdminState
    p = s.policy
    return rx.form(
        rx.vstack(
            rx.heading(t("membership.admin.points_heading"), size="3"),
            rx.grid(
                field(
                    s,
                    "membership.admin.expiry_months",
                    "points_expiry_months",
                    default_value=p["points_expiry_months"],
                    hint_key="membership.admin.expiry_hint",
                ),
                field(
                    s,
                    "membership.admin.return_window",
                    "return_window_days",
                    default_value=p["return_window_days"],
                    hint_key="membership.admin.return_window_hint",
                ),
                select_field(
                    s,
                    "membership.admin.negative_policy",
                    "negative_policy",
                    NEGATIVE_POLICIES,
                    default_value=p["negative_policy"],
                ),
                field(
                    s,
                    "membership.admin.notice_days",
                    "notice_days",
                    default_value=p["notice_days"],
                    hint_key="membership.admin.notice_hint",
                ),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.heading(t("membership.admin.card_heading"), size="3"),
            rx.grid(
                field(
                    s, "membership.admin.card_prefix", "card_prefix", default_value=p["card_prefix"]
                ),
                field(
                    s, "membership.admin.card_digits", "card_digits", default_value=p["card_digits"]
                ),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.text(
                t("membership.admin.next_card"),
                " ",
                rx.code(p["next_card"]),
                size="2",
                id="next-card",
            ),
            _checkbox(
                "auto_issue_card",
                p["auto_issue_card"] == "1",
                "membership.admin.auto_issue",
                "f-auto_issue_card",
            ),
            rx.button(t("common.save"), type="submit", id="save-policy"),
            spacing="3",
            width="100%",
            max_width="760px",
        ),
        on_submit=s.save_policy,
        key=s.form_key,
        width="100%",
    )


def _level_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = MembershipAdminState
    return rx.table.row(
        rx.table.cell(r["rank"]),
        rx.table.cell(r["name"], rx.text(r["name_en"], size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                r["min_points"] != "0", rx.text(r["min_points"], " ", t("membership.admin.pts"))
            ),
            rx.cond(r["min_spent"] != "", rx.text(r["min_spent"])),
            rx.cond(
                (r["min_points"] == "0") & (r["min_spent"] == ""),
                rx.text(t("membership.admin.entry_level"), color_scheme="gray"),
            ),
        ),
        rx.table.cell(r["discount"], "%"),
        rx.table.cell("×", r["multiplier_x"]),
        rx.table.cell(r["members"]),
        rx.table.cell(
            rx.switch(
                checked=r["active"] == "1",
                on_change=lambda v: s.toggle_level(r["id"], v),
                id="level-active-" + r["id"],
            )
        ),
        rx.table.cell(
            rx.button(
                t("membership.admin.edit"),
                size="1",
                variant="soft",
                on_click=s.edit_level(r["id"]),
                id="edit-level-" + r["id"],
            )
        ),
        id="level-" + r["id"],
    )


def _level_editor() -> rx.Component:
    s = MembershipAdminState
    lv = s.level
    return form_dialog(
        s,
        open_var=s.level_open,
        on_open_change=s.set_level_open,
        on_submit=s.save_level,
        trigger=rx.button(
            rx.icon("plus", size=16),
            t("membership.admin.new_level"),
            on_click=s.new_level,
            id="new-level",
        ),
        title="membership.admin.level_title",
        description="membership.admin.level_hint",
        fields=[
            rx.fragment(
                rx.grid(
                    field(s, "membership.admin.name_zh", "name_zh", default_value=lv["name_zh"]),
                    field(s, "membership.admin.name_en", "name_en", default_value=lv["name_en"]),
                    field(s, "membership.admin.rank", "rank", default_value=lv["rank"]),
                    rx.fragment(),
                    field(
                        s,
                        "membership.admin.min_points",
                        "min_points_12m",
                        default_value=lv["min_points_12m"],
                    ),
                    field(
                        s,
                        "membership.admin.min_spent",
                        "min_spent_yuan_12m",
                        default_value=lv["min_spent_yuan_12m"],
                        placeholder="5000.00",
                    ),
                    field(
                        s,
                        "membership.admin.discount",
                        "discount_percent",
                        default_value=lv["discount_percent"],
                    ),
                    field(
                        s,
                        "membership.admin.multiplier",
                        "multiplier_percent",
                        default_value=lv["multiplier_percent"],
                        hint_key="membership.admin.multiplier_hint",
                    ),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                key=s.form_key,
            )
        ],
        submit_key="common.save",
        submit_id="save-level",
        max_width="620px",
    )


def _levels_tab() -> rx.Component:
    s = MembershipAdminState
    return rx.vstack(
        rx.hstack(
            rx.text(t("membership.admin.levels_hint"), size="2", color_scheme="gray"),
            rx.spacer(),
            _level_editor(),
            width="100%",
            align="center",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(t(h))
                        for h in (
                            "membership.admin.rank",
                            "membership.admin.level_name",
                            "membership.admin.threshold",
                            "membership.admin.discount",
                            "membership.admin.multiplier",
                            "membership.admin.members",
                            "membership.admin.active",
                            "common.actions",
                        )
                    ]
                )
            ),
            rx.table.body(rx.foreach(s.levels, _level_row)),
            width="100%",
            size="1",
            id="levels-table",
        ),
        spacing="3",
        width="100%",
    )


def _rule_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = MembershipAdminState
    err = s.rule_errors[r["kind"]]
    return rx.form(
        rx.hstack(
            rx.text(_en(r["label"], r["label_en"]), width="200px", weight="medium"),
            rx.el.input(type="hidden", name="kind", value=r["kind"]),
            rx.vstack(
                rx.hstack(
                    rx.input(
                        name="points",
                        default_value=r["points"],
                        width="120px",
                        id="rule-points-" + r["kind"],
                    ),
                    rx.text(
                        rx.cond(
                            r["kind"] == "per_yuan_paid",
                            t("membership.admin.per_yuan"),
                            t("membership.admin.per_event"),
                        ),
                        size="2",
                        color_scheme="gray",
                    ),
                    align="center",
                ),
                rx.cond(
                    err, rx.text(err, size="1", color_scheme="red", id="rule-err-" + r["kind"])
                ),
                spacing="1",
            ),
            rx.el.label(
                rx.hstack(
                    rx.el.input(
                        type="checkbox",
                        name="active",
                        default_checked=r["active"] == "1",
                        id="rule-active-" + r["kind"],
                    ),
                    rx.text(t("membership.admin.active"), size="2"),
                    align="center",
                    spacing="2",
                ),
                style={"cursor": "pointer"},
            ),
            rx.button(
                t("common.save"),
                type="submit",
                size="1",
                variant="soft",
                id="save-rule-" + r["kind"],
            ),
            align="center",
            spacing="4",
            width="100%",
            padding_y="6px",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
        ),
        on_submit=s.save_rule,
        id="rule-" + r["kind"],
    )


def _rules_tab() -> rx.Component:
    s = MembershipAdminState
    return rx.vstack(
        rx.text(t("membership.admin.rules_hint"), size="2", color_scheme="gray"),
        rx.box(rx.foreach(s.rules, _rule_row), key=s.form_key, width="100%"),
        spacing="3",
        width="100%",
        max_width="820px",
    )


@page("/admin/membership", title="Membership", on_load=MembershipAdminState.load)
def membership_page() -> rx.Component:
    """Policy, card format, levels and earn rules."""
    s = MembershipAdminState
    return admin_layout(
        rx.vstack(
            rx.heading(t("membership.admin.title"), size="6"),
            rx.cond(~s.level_open, form_error(s)),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(
                        t("membership.admin.tab_policy"), value="policy", id="tab-policy"
                    ),
                    rx.tabs.trigger(
                        t("membership.admin.tab_levels"), value="levels", id="tab-levels"
                    ),
                    rx.tabs.trigger(t("membership.admin.tab_rules"), value="rules", id="tab-rules"),
                ),
                rx.tabs.content(_policy_tab(), value="policy", padding_top="12px"),
                rx.tabs.content(_levels_tab(), value="levels", padding_top="12px"),
                rx.tabs.content(_rules_tab(), value="rules", padding_top="12px"),
                value=s.tab,
                on_change=s.set_tab,
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        active="membership",
    )
