"""The rewards catalog (积分兑换) for admins with MEMBERS_MANAGE: package coupons
(a package free, or points + cash), discount coupons (yuan or percent off, with a
minimum spend) and gifts handed over at the desk; points cost, cash in yuan,
stock, per-patient limit, coupon validity, on/off; and the coupons issued, with
voiding an unused one (a reason is required).

Every value is re-checked by prm_saas.membership.rewards (handlers are a public
API); this page only turns form fields into the service's input.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.admin_ui import add_button, list_or_empty
from components.app_state import AppState
from components.forms import (
    FormMixin,
    client_id,
    field,
    form_checked,
    form_dialog,
    form_error,
    form_str,
)
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time, yuan
from prm_saas.mall import admin as mall_admin
from prm_saas.membership import rewards
from tenants.errors import PermissionDenied
from tenants.types import utcnow

KINDS = ["package_coupon", "discount_coupon", "gift"]
_LABEL = {"fontSize": "14px", "fontWeight": 500}
COUPON_STATUSES = ["issued", "used", "void", "expired"]
_TEXT_FIELDS = (
    "kind",
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "points_cost",
    "package_id",
    "cash",
    "discount",
    "discount_percent",
    "min_spend",
    "stock",
    "per_patient_limit",
    "coupon_valid_days",
)


def reward_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields as the service's keyword arguments (strings; the service
    validates every one and reports all errors at once)."""
    v = {k: form_str(form, k) for k in _TEXT_FIELDS}
    return {
        "kind": v["kind"],
        "name_zh": v["name_zh"],
        "name_en": v["name_en"],
        "description_zh": v["description_zh"],
        "description_en": v["description_en"],
        "points_cost": v["points_cost"],
        "package_id": v["package_id"] or None,
        "cash_yuan": v["cash"],
        "discount_yuan": v["discount"],
        "discount_percent": v["discount_percent"],
        "min_spend_yuan": v["min_spend"],
        "stock": v["stock"],
        "per_patient_limit": v["per_patient_limit"],
        "coupon_valid_days": v["coupon_valid_days"],
        "active": form_checked(form, "active"),
    }


def _terms(r: rewards.RewardRow) -> str:
    """What a reward gives, in figures (names come from the row itself)."""
    if r.kind == "discount_coupon":
        off = f"-{yuan(r.discount_fen)}" if r.discount_fen else f"-{r.discount_percent}%"
        return off + (f" (≥ {yuan(r.min_spend_fen)})" if r.min_spend_fen else "")
    return f"+ {yuan(r.cash_fen)}" if r.cash_fen else ""


class RewardsAdminState(FormMixin, AppState):
    """The catalog, its editor, and the coupons issued."""

    tab: str = "catalog"
    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    packages: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    coupons: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    coupon_query: str = ""
    form_key: int = 0
    edit_open: bool = False
    edit_id: str = ""  # "" = a new reward
    rw: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    edit_kind: str = "gift"  # which kind's fields the editor shows
    void_open: bool = False
    void_code: str = ""
    _void_id: int = 0

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        tz = self._tz()
        now = utcnow()
        query = self.coupon_query

        def read(session: Any, actor: Any) -> bool:
            found = rewards.list_rewards(session=session, actor=actor)
            self.rows = [
                {
                    "id": str(r.id),
                    "kind": r.kind,
                    "name": r.name_zh,
                    "name_en": r.name_en or r.name_zh,
                    "package": r.package_name_zh,
                    "package_en": r.package_name_en or r.package_name_zh,
                    "points": str(r.points_cost),
                    "terms": _terms(r),
                    "stock": "∞" if r.stock is None else f"{r.stock_left} / {r.stock}",
                    "redeemed": str(r.redeemed_count),
                    "limit": "∞" if r.per_patient_limit is None else str(r.per_patient_limit),
                    "days": str(r.coupon_valid_days),
                    "active": "1" if r.active else "",
                    # the editor's defaults
                    "package_id": str(r.package_id or ""),
                    "description_zh": r.description_zh,
                    "description_en": r.description_en,
                    "cash_yuan": r.cash_yuan if r.cash_fen else "",
                    "discount_yuan": r.discount_yuan if r.discount_fen else "",
                    "discount_percent": str(r.discount_percent or ""),
                    "min_spend_yuan": r.min_spend_yuan if r.min_spend_fen else "",
                    "stock_raw": "" if r.stock is None else str(r.stock),
                    "limit_raw": "" if r.per_patient_limit is None else str(r.per_patient_limit),
                }
                for r in found
            ]
            self.coupons = [
                {
                    "id": str(c.id),
                    "code": c.code,
                    "name": c.name_zh,
                    "name_en": c.name_en or c.name_zh,
                    "patient": c.patient_name,
                    "status": c.status,
                    "usable": "1" if c.status == "issued" else "",
                    "issued": local_time(c.issued_at, tz),
                    "expires": local_time(c.expires_at, tz),
                    "used": local_time(c.used_at, tz),
                    "order": str(c.order_id or ""),
                    "void_reason": c.void_reason,
                }
                for c in rewards.list_coupons(session=session, actor=actor, now=now, query=query)
            ]
            try:
                self.packages = [
                    {"id": str(p.id), "label": f"{p.code} · {p.name_zh}"}
                    for p in mall_admin.list_packages(session=session, actor=actor)
                ]
            except PermissionDenied:  # without CATALOG_MANAGE: the ids already chosen only
                self.packages = []
            return True

        _done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins with MEMBERS_MANAGE only; others get the 404 page."""
        self._clear()
        self.edit_open = self.void_open = False
        redirect = self._load(PrincipalKind.STAFF, Permission.MEMBERS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def set_tab(self, value: str) -> None:
        """Switch between the catalog and the coupons."""
        if value in ("catalog", "coupons"):
            self.tab = value
            self._clear()

    # --- the editor -------------------------------------------------------------------------

    @rx.event
    def new_reward(self) -> None:
        """Open an empty editor (a gift, valid 30 days, unlimited)."""
        self._clear()
        self.edit_id = ""
        self.rw = {k: "" for k in _TEXT_FIELDS}
        self.rw.update(kind="gift", coupon_valid_days="30", active="1")
        self.edit_kind = "gift"
        self.form_key += 1
        self.edit_open = True

    @rx.event
    def edit_reward(self, reward_id: str) -> None:
        """Open the editor on a row of the table (the service re-checks the id)."""
        self._clear()
        for r in self.rows:
            if r["id"] == str(reward_id):
                self.edit_id = r["id"]
                self.rw = {
                    "kind": r["kind"],
                    "name_zh": r["name"],
                    "name_en": r["name_en"] if r["name_en"] != r["name"] else "",
                    "description_zh": r["description_zh"],
                    "description_en": r["description_en"],
                    "points_cost": r["points"],
                    "package_id": r["package_id"],
                    "cash": r["cash_yuan"],
                    "discount": r["discount_yuan"],
                    "discount_percent": r["discount_percent"],
                    "min_spend": r["min_spend_yuan"],
                    "stock": r["stock_raw"],
                    "per_patient_limit": r["limit_raw"],
                    "coupon_valid_days": r["days"],
                    "active": r["active"],
                }
                self.edit_kind = r["kind"]
                self.form_key += 1
                self.edit_open = True

    @rx.event
    def set_edit_kind(self, value: str) -> None:
        """Show the fields of the kind chosen in the editor."""
        self.edit_kind = value if value in KINDS else "gift"

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        """Close (or open) the editor."""
        self.edit_open = bool(value)
        if not self.edit_open:
            self.field_errors = {}

    @rx.event
    def save_reward(self, form: dict[str, Any]) -> Any:
        """Create or change a reward."""
        self._clear()
        fields = reward_fields(form)
        rid = client_id(self.edit_id)
        ip, _ua = self._client()

        def save(session: Any, actor: Any) -> rewards.RewardRow:
            if rid is None:
                return rewards.create_reward(session=session, actor=actor, ip=ip, **fields)
            return rewards.update_reward(
                session=session, actor=actor, reward_id=rid, ip=ip, **fields
            )

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None or done is None:
            return ev
        self.edit_open = False
        self.notice = self.tr("common.saved")
        return self._refresh()

    @rx.event
    def toggle_active(self, reward_id: str, active: bool) -> Any:
        """Show or hide a reward in the patients' catalog."""
        rid = client_id(reward_id)
        if rid is None:
            return None
        ip, _ua = self._client()
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: rewards.set_reward_active(
                session=s, actor=p, reward_id=rid, active=bool(active), ip=ip
            ),
            "common.saved",
            self._refresh,
        )

    # --- coupons ----------------------------------------------------------------------------

    @rx.event
    def search_coupons(self, form: dict[str, Any]) -> Any:
        """Find coupons by code, name or phone."""
        self._clear()
        self.coupon_query = form_str(form, "q").strip()[:60]
        return self._refresh()

    @rx.event
    def open_void(self, coupon_id: str) -> None:
        """Ask for the reason to void a coupon."""
        self._clear()
        for c in self.coupons:
            if c["id"] == str(coupon_id):
                self._void_id = int(c["id"])
                self.void_code = c["code"]
                self.void_open = True

    @rx.event
    def set_void_open(self, value: bool) -> None:
        """Close (or open) the void dialog."""
        self.void_open = bool(value)
        self.field_errors = {}

    @rx.event
    def void(self, form: dict[str, Any]) -> Any:
        """Void the chosen unused coupon with a reason."""
        self._clear()
        cid, reason, now = self._void_id, form_str(form, "reason"), utcnow()
        ip, _ua = self._client()
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: rewards.void_coupon(
                session=s, actor=p, coupon_id=cid, reason=reason, now=now, ip=ip
            ),
            self._fail,
        )
        if ev is not None or done is None:
            return ev
        self.void_open = False
        self.notice = self.tr("rewards.admin.voided", code=done.code)
        return self._refresh()


# --- pieces -------------------------------------------------------------------------------


def _en(zh: Any, en: Any) -> Any:
    return rx.cond(AppState.lang == "en", en, zh)


def _kind(kind: Any) -> rx.Component | rx.Var:
    return t_var("rewards.admin.kind", kind, KINDS)


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = RewardsAdminState
    return rx.table.row(
        rx.table.cell(
            rx.text(_en(r["name"], r["name_en"]), weight="medium"),
            rx.cond(
                r["package"] != "",
                rx.text(_en(r["package"], r["package_en"]), size="1", color_scheme="gray"),
            ),
        ),
        rx.table.cell(rx.badge(_kind(r["kind"]), variant="soft")),
        rx.table.cell(r["points"]),
        rx.table.cell(r["terms"]),
        rx.table.cell(r["stock"], rx.text(t("rewards.admin.redeemed"), r["redeemed"], size="1")),
        rx.table.cell(r["limit"]),
        rx.table.cell(r["days"]),
        rx.table.cell(
            rx.switch(
                checked=r["active"] == "1",
                on_change=lambda v: s.toggle_active(r["id"], v),
                id="reward-active-" + r["id"],
            )
        ),
        rx.table.cell(
            rx.button(
                t("rewards.admin.edit"),
                size="1",
                variant="soft",
                on_click=s.edit_reward(r["id"]),
                id="edit-reward-" + r["id"],
            )
        ),
        id="reward-" + r["id"],
    )


def _select(name: str, label_key: str, options: Any, default: Any, **props: Any) -> rx.Component:
    s = RewardsAdminState
    err = s.field_errors[name]
    return rx.vstack(
        rx.el.label(
            t(label_key), html_for=f"f-{name}", style={"fontSize": "14px", "fontWeight": 500}
        ),
        rx.el.select(
            *options,
            name=name,
            id=f"f-{name}",
            default_value=default,
            style={
                "width": "100%",
                "padding": "8px",
                "borderRadius": "6px",
                "border": "1px solid var(--gray-7)",
                "background": "var(--color-surface)",
            },
            **props,
        ),
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id=f"err-{name}")),
        spacing="1",
        width="100%",
        align="start",
    )


def _editor() -> rx.Component:
    s = RewardsAdminState
    r = s.rw
    kind_fields = rx.match(
        s.edit_kind,
        (
            "package_coupon",
            rx.grid(
                _select(
                    "package_id",
                    "rewards.admin.package",
                    [
                        rx.el.option(t("rewards.admin.choose_package"), value=""),
                        rx.foreach(s.packages, lambda p: rx.el.option(p["label"], value=p["id"])),
                    ],
                    r["package_id"],
                ),
                field(
                    s,
                    "rewards.admin.cash",
                    "cash",
                    default_value=r["cash"],
                    placeholder="0.00",
                    hint_key="rewards.admin.cash_hint",
                ),
                columns="2",
                spacing="3",
                width="100%",
            ),
        ),
        (
            "discount_coupon",
            rx.grid(
                field(
                    s,
                    "rewards.admin.discount",
                    "discount",
                    default_value=r["discount"],
                    placeholder="50.00",
                ),
                field(
                    s,
                    "rewards.admin.discount_percent",
                    "discount_percent",
                    default_value=r["discount_percent"],
                    hint_key="rewards.admin.discount_hint",
                ),
                field(
                    s,
                    "rewards.admin.min_spend",
                    "min_spend",
                    default_value=r["min_spend"],
                    placeholder="0.00",
                ),
                columns="2",
                spacing="3",
                width="100%",
            ),
        ),
        rx.grid(
            field(
                s,
                "rewards.admin.cash_gift",
                "cash",
                default_value=r["cash"],
                placeholder="0.00",
                hint_key="rewards.admin.cash_hint",
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
    )
    return form_dialog(
        s,
        open_var=s.edit_open,
        on_open_change=s.set_edit_open,
        on_submit=s.save_reward,
        trigger=add_button("rewards.admin.new", s.new_reward, "new-reward"),
        title="rewards.admin.editor_title",
        fields=[
            rx.fragment(
                rx.vstack(
                    rx.grid(
                        _select(
                            "kind",
                            "rewards.admin.kind",
                            [rx.el.option(t(f"rewards.admin.kind.{k}"), value=k) for k in KINDS],
                            r["kind"],
                            on_change=s.set_edit_kind,
                        ),
                        field(
                            s,
                            "rewards.admin.points_cost",
                            "points_cost",
                            default_value=r["points_cost"],
                        ),
                        field(s, "rewards.admin.name_zh", "name_zh", default_value=r["name_zh"]),
                        field(s, "rewards.admin.name_en", "name_en", default_value=r["name_en"]),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    kind_fields,
                    rx.grid(
                        field(
                            s,
                            "rewards.admin.stock",
                            "stock",
                            default_value=r["stock"],
                            hint_key="rewards.admin.unlimited_hint",
                        ),
                        field(
                            s,
                            "rewards.admin.limit",
                            "per_patient_limit",
                            default_value=r["per_patient_limit"],
                            hint_key="rewards.admin.unlimited_hint",
                        ),
                        field(
                            s,
                            "rewards.admin.valid_days",
                            "coupon_valid_days",
                            default_value=r["coupon_valid_days"],
                        ),
                        columns="3",
                        spacing="3",
                        width="100%",
                    ),
                    rx.grid(
                        rx.vstack(
                            rx.el.label(
                                t("rewards.admin.description_zh"),
                                html_for="f-description_zh",
                                style=_LABEL,
                            ),
                            rx.text_area(
                                name="description_zh",
                                id="f-description_zh",
                                default_value=r["description_zh"],
                                rows="2",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        rx.vstack(
                            rx.el.label(
                                t("rewards.admin.description_en"),
                                html_for="f-description_en",
                                style=_LABEL,
                            ),
                            rx.text_area(
                                name="description_en",
                                id="f-description_en",
                                default_value=r["description_en"],
                                rows="2",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.el.label(
                        rx.hstack(
                            rx.el.input(
                                type="checkbox",
                                name="active",
                                default_checked=r["active"] == "1",
                                id="f-active",
                            ),
                            rx.text(t("rewards.admin.active"), size="2"),
                            align="center",
                            spacing="2",
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                key=s.form_key,
            )
        ],
        submit_key="common.save",
        submit_id="save-reward",
        max_width="720px",
    )


def _catalog_tab() -> rx.Component:
    s = RewardsAdminState
    return rx.vstack(
        rx.hstack(
            rx.text(t("rewards.admin.catalog_hint"), size="2", color_scheme="gray"),
            rx.spacer(),
            _editor(),
            width="100%",
            align="center",
        ),
        list_or_empty(
            s.rows,
            _row,
            [
                "rewards.admin.name",
                "rewards.admin.kind",
                "rewards.admin.points_cost",
                "rewards.admin.terms",
                "rewards.admin.stock",
                "rewards.admin.limit",
                "rewards.admin.valid_days",
                "rewards.admin.active",
                "common.actions",
            ],
            id="rewards-table",
            empty_key="rewards.admin.empty",
            empty_id="rewards-empty",
        ),
        spacing="3",
        width="100%",
    )


def _coupon_row(c: rx.Var[dict[str, str]]) -> rx.Component:
    s = RewardsAdminState
    return rx.table.row(
        rx.table.cell(rx.code(c["code"])),
        rx.table.cell(_en(c["name"], c["name_en"])),
        rx.table.cell(c["patient"]),
        rx.table.cell(
            rx.badge(
                t_var("rewards.admin.coupon_status", c["status"], COUPON_STATUSES),
                color_scheme=rx.match(c["status"], ("issued", "green"), ("used", "gray"), "red"),
                variant="soft",
            ),
            rx.cond(c["void_reason"] != "", rx.text(c["void_reason"], size="1")),
        ),
        rx.table.cell(c["issued"]),
        rx.table.cell(c["expires"]),
        rx.table.cell(c["used"], rx.cond(c["order"] != "", rx.text("#", c["order"], size="1"))),
        rx.table.cell(
            rx.cond(
                c["usable"] == "1",
                rx.button(
                    t("rewards.admin.void"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=s.open_void(c["id"]),
                    id="void-" + c["code"],
                ),
            )
        ),
        id="coupon-" + c["code"],
    )


def _void_dialog() -> rx.Component:
    s = RewardsAdminState
    return form_dialog(
        s,
        open_var=s.void_open,
        on_open_change=s.set_void_open,
        on_submit=s.void,
        trigger=None,  # opened by a coupon row's "void"
        title="rewards.admin.void",
        description="rewards.admin.void_hint",
        fields=[
            rx.text(rx.code(s.void_code), size="2"),
            field(s, "rewards.admin.void_reason", "reason"),
        ],
        submit_key="rewards.admin.void",
        submit_id="do-void",
        submit_props={"color_scheme": "red"},
        max_width="440px",
    )


def _coupons_tab() -> rx.Component:
    s = RewardsAdminState
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    name="q",
                    id="f-coupon-q",
                    placeholder=t("rewards.admin.coupon_search"),
                    default_value=s.coupon_query,
                    width="300px",
                ),
                rx.button(
                    rx.icon("search", size=14),
                    t("common.search"),
                    type="submit",
                    id="search-coupons",
                ),
                spacing="2",
            ),
            on_submit=s.search_coupons,
        ),
        list_or_empty(
            s.coupons,
            _coupon_row,
            [
                "rewards.admin.code",
                "rewards.admin.name",
                "rewards.admin.member",
                "common.status",
                "rewards.admin.issued",
                "rewards.admin.expires",
                "rewards.admin.used",
                "common.actions",
            ],
            id="coupons-table",
            empty_key="rewards.admin.no_coupons",
            empty_id="coupons-empty",
        ),
        _void_dialog(),
        spacing="3",
        width="100%",
    )


@page("/admin/rewards", title="Rewards", on_load=RewardsAdminState.load)
def rewards_page() -> rx.Component:
    """The rewards catalog and the coupons issued."""
    s = RewardsAdminState
    return admin_layout(
        rx.vstack(
            rx.heading(t("rewards.admin.title"), size="6"),
            rx.cond(~s.edit_open & ~s.void_open, form_error(s)),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(
                        t("rewards.admin.tab_catalog"), value="catalog", id="tab-catalog"
                    ),
                    rx.tabs.trigger(
                        t("rewards.admin.tab_coupons"), value="coupons", id="tab-coupons"
                    ),
                ),
                rx.tabs.content(_catalog_tab(), value="catalog", padding_top="12px"),
                rx.tabs.content(_coupons_tab(), value="coupons", padding_top="12px"),
                value=s.tab,
                on_change=s.set_tab,
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        active="rewards",
    )
