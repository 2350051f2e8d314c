"""Members (会员) for staff: the member desk for everyone with FRONT_DESK (look a
card up by its number, as the card's QR code or barcode reads) and, for admins
with MEMBERS_MANAGE, the member list (search by name, phone or card number;
level filter; balances), a member's detail with the points history, a points
adjustment (a reason is required; audited) and issuing a card.

Every check lives in the services (prm_saas.membership.admin, .points, .cards);
handlers are a public API and only turn form fields into service calls.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

import reflex as rx

from components.admin_ui import data_table, list_or_empty
from components.app_state import AppState
from components.forms import FormMixin, client_id, field, form_dialog, form_error, form_str
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from pages.admin.member_tags import MemberTagsMixin, bulk_bar, member_tags_panel, select_cell
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.booking import frontdesk as fd
from prm_saas.display import local_time, yuan
from prm_saas.i18n import translate
from prm_saas.membership import admin as members
from prm_saas.membership import cards, points, rewards
from tenants.types import utcnow

MAX_QUERY = 40
COUPON_STATUSES = ["issued", "used", "void", "expired"]
_POINTS_RE = re.compile(r"^[+-]?[0-9]{1,9}$")


def points_from_text(text: str) -> int:
    """Points typed by a person ("+200", "-50", full-width digits too); 0 (which the
    ledger refuses with its own message) for anything else."""
    v = unicodedata.normalize("NFKC", text or "").strip().replace(" ", "")
    return int(v) if _POINTS_RE.match(v) else 0


def _both(key: str, **params: Any) -> tuple[str, str]:
    return translate(key, "zh-CN", **params), translate(key, "en", **params)


def detail_dict(d: members.MemberDetail, tz: str) -> dict[str, str]:
    """A member's detail as the page shows it (strings for the browser)."""
    lv = d.level
    b = d.points
    return {
        "id": str(d.patient_id),
        "name": d.name,
        "phone": d.phone_masked,
        "card": d.card_number,
        "issued": local_time(d.card_issued_at, tz),
        "level": lv.name_zh if lv else "",
        "level_en": (lv.name_en or lv.name_zh) if lv else "",
        "discount": str(lv.discount_percent) if lv else "0",
        "multiplier": f"{lv.multiplier_percent / 100:g}" if lv else "1",
        "balance": str(b.balance),
        "spendable": str(b.spendable),
        "locked": str(b.locked),
        "unlocks_on": b.unlocks_on.isoformat() if b.unlocks_on else "",
        "expiring": str(b.expiring),
        "expiring_day": b.expiring_last_day.isoformat() if b.expiring_last_day else "",
        "points_12m": str(d.points_12m),
        "spent_12m": yuan(d.spent_fen_12m),
        "referred_by": d.referred_by,
        "referred_count": str(d.referred_count),
    }


def history_rows(d: members.MemberDetail, tz: str) -> list[dict[str, str]]:
    """A member's ledger lines, both languages ready (the page picks one)."""
    out = []
    for h in d.history:
        kind_zh, kind_en = _both(h.kind_key)
        why_zh, why_en = _both(h.reason_key)
        out.append(
            {
                "id": str(h.id),
                "at": local_time(h.at, tz),
                "kind": kind_zh,
                "kind_en": kind_en,
                "points": f"{h.points:+d}",
                "why": why_zh,
                "why_en": why_en,
                "note": h.note,
            }
        )
    return out


class MembersState(MemberTagsMixin, FormMixin, AppState):
    """The desk lookup, the member list and the selected member."""

    can_manage: bool = False
    # the list
    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    levels: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    query: str = ""
    level_filter: str = ""
    page_no: int = 1
    pages: int = 1
    total: int = 0
    # the selected member (from the list or a card lookup)
    has_detail: bool = False
    detail: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    history: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    adjust_open: bool = False
    _adjust_key: str = ""
    # the desk's patient search (staff without MEMBERS_MANAGE issue cards from here)
    desk_hits: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # a coupon the desk looked up (a gift to hand over)
    coupon: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        if not self.can_manage:
            return None
        query, level, page_no = self.query, client_id(self.level_filter), self.page_no

        def read(session: Any, actor: Any) -> members.MemberPage:
            self.levels = [
                {"id": str(lv.id), "name": lv.name_zh, "name_en": lv.name_en or lv.name_zh}
                for lv in members.list_levels(session=session, actor=actor)
            ]
            return members.list_members(
                session=session, actor=actor, query=query, level_id=level, page=page_no
            )

        result, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if result is None:
            return ev
        self.page_no, self.pages, self.total = result.page, result.pages, result.total
        self.rows = [
            {
                "id": str(r.patient_id),
                "name": r.name,
                "phone": r.phone_masked,
                "card": r.card_number,
                "level": r.level_name_zh,
                "level_en": r.level_name_en or r.level_name_zh,
                "balance": str(r.balance),
                "spendable": str(r.spendable),
                "expiring": str(r.expiring) if r.expiring else "",
                "expiring_day": r.expiring_last_day.isoformat() if r.expiring_last_day else "",
            }
            for r in result.rows
        ]
        return ev

    def _show_detail(self, d: members.MemberDetail | None) -> None:
        if d is None:
            self.has_detail, self.detail, self.history = False, {}, []
            self._load_member_tags(None)
            return
        tz = self._tz()
        self.detail = detail_dict(d, tz)
        self.history = history_rows(d, tz)
        self.has_detail = True
        self._load_member_tags(d.patient_id)

    def _show(self, patient_id: int) -> Any:
        now = utcnow()
        d, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: members.member_detail(session=s, actor=p, patient_id=patient_id, now=now),
            self._fail,
        )
        self._show_detail(d)
        return ev

    @rx.event
    def load(self) -> Any:
        """Staff with FRONT_DESK get the card lookup; MEMBERS_MANAGE adds the list."""
        self._clear()
        self.adjust_open = False
        self._show_detail(None)
        redirect = self._load(PrincipalKind.STAFF, Permission.FRONT_DESK)
        if redirect is not None or self.page_status != "ok":
            return redirect
        found, ev = self._run(
            PrincipalKind.STAFF, lambda _s, p: p.can(Permission.MEMBERS_MANAGE), self._fail
        )
        if ev is not None:
            return ev
        self.can_manage = bool(found)
        self.selected = []
        self._load_manual_tags()
        if not self.can_manage:
            self.rows, self.levels = [], []
            return None
        wanted = client_id(self.router.url.query_parameters.get("patient", ""))
        if wanted is not None:
            self._show(wanted)
        return self._refresh()

    # --- the desk -----------------------------------------------------------------------

    @rx.event
    def lookup(self, form: dict[str, Any]) -> Any:
        """Look a card up by the number the scanner typed (or someone pasted)."""
        self._clear()
        number = form_str(form, "card_number")[:100]
        now = utcnow()
        d, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: members.find_card(session=s, actor=p, number=number, now=now),
            self._fail,
        )
        self._show_detail(d)
        return ev

    @rx.event
    def desk_search(self, form: dict[str, Any]) -> Any:
        """Find a patient by name or phone, to issue their card at the desk."""
        self._clear()
        query = form_str(form, "desk_q").strip()[:MAX_QUERY]
        hits, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.search_patients(session=s, actor=p, query=query),
            self._fail,
        )
        self.desk_hits = [
            {"id": str(h.id), "name": h.name, "phone": h.phone_masked} for h in hits or []
        ]
        if hits == []:
            self.notice = self.tr("members.admin.no_patients")
        return ev

    @rx.event
    def desk_issue(self, patient_id: str) -> Any:
        """Issue the card of a patient found at the desk (or show the one they have)."""
        self._clear()
        pid = client_id(patient_id)
        if pid is None:
            return None
        now = utcnow()

        def issue(session: Any, actor: Any) -> members.MemberDetail:
            card = cards.issue_card(session, actor=actor, patient_id=pid, now=now)
            return members.find_card(session=session, actor=actor, number=card.number, now=now)

        d, ev = self._run(PrincipalKind.STAFF, issue, self._fail)
        if d is not None:
            self._show_detail(d)
            self.desk_hits = []
            self.notice = self.tr("members.admin.card_issued", number=d.card_number)
        return ev

    def _show_coupon(self, c: rewards.CouponView | None) -> None:
        if c is None:
            self.coupon = {}
            return
        tz = self._tz()
        self.coupon = {
            "code": c.code,
            "name": c.name_zh,
            "name_en": c.name_en or c.name_zh,
            "kind": c.kind,
            "status": c.status,
            "usable": "1" if c.usable and c.kind == "gift" else "",
            "patient": c.patient_name,
            "cash": yuan(c.cash_fen) if c.cash_fen else "",
            "expires": local_time(c.expires_at, tz),
            "used": local_time(c.used_at, tz),
        }

    @rx.event
    def find_coupon(self, form: dict[str, Any]) -> Any:
        """Read a coupon code before handing its gift over."""
        self._clear()
        code = form_str(form, "coupon_code")[:60]
        now = utcnow()
        c, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: rewards.lookup_coupon(session=s, actor=p, code=code, now=now),
            self._fail,
        )
        self._show_coupon(c)
        return ev

    @rx.event
    def hand_over(self) -> Any:
        """Hand the looked-up gift over: the coupon is used, once; audited."""
        self._clear()
        code = self.coupon.get("code", "")
        if not code:
            return None
        now = utcnow()

        def give(session: Any, actor: Any) -> rewards.CouponView:
            rewards.redeem_gift(session=session, actor=actor, code=code, now=now)
            return rewards.lookup_coupon(session=session, actor=actor, code=code, now=now)

        c, ev = self._run(PrincipalKind.STAFF, give, self._fail)
        if c is not None:
            self._show_coupon(c)
            self.notice = self.tr("members.admin.gift_handed", code=code)
        return ev

    @rx.event
    def clear_coupon(self) -> None:
        """Put the coupon away."""
        self._clear()
        self.coupon = {}

    # --- the list -----------------------------------------------------------------------

    @rx.event
    def search(self, form: dict[str, Any]) -> Any:
        """Search by name / phone / card number, filter by level."""
        self._clear()
        self.query = form_str(form, "q").strip()[:MAX_QUERY]
        self.level_filter = form_str(form, "level")[:12]
        self.page_no = 1
        return self._refresh()

    @rx.event
    def goto_page(self, delta: int) -> Any:
        """The previous or next page."""
        step = delta if isinstance(delta, int) and not isinstance(delta, bool) else 0
        self.page_no = max(1, min(self.pages, self.page_no + (1 if step > 0 else -1)))
        return self._refresh()

    @rx.event
    def select(self, patient_id: str) -> Any:
        """Show one member."""
        self._clear()
        pid = client_id(patient_id)
        return None if pid is None else self._show(pid)

    @rx.event
    def close_detail(self) -> None:
        """Hide the member."""
        self._clear()
        self._show_detail(None)

    # --- actions on the selected member ---------------------------------------------------

    @rx.event
    def set_adjust_open(self, value: bool) -> None:
        """Open or close the adjustment dialog; each opening is one adjustment (its key)."""
        self.adjust_open = bool(value)
        self.field_errors = {}
        if self.adjust_open:
            self.error = self.notice = ""
            self._adjust_key = f"adjust:{uuid.uuid4().hex}"

    @rx.event
    def adjust(self, form: dict[str, Any]) -> Any:
        """Add or take points with a reason."""
        self._clear()
        pid = client_id(self.detail.get("id", ""))
        if pid is None:
            return None
        amount = points_from_text(form_str(form, "points"))
        reason = form_str(form, "reason")
        key = self._adjust_key or f"adjust:{uuid.uuid4().hex}"
        now = utcnow()
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: points.adjust(
                s,
                actor=p,
                patient_id=pid,
                points=amount,
                reason=reason,
                idempotency_key=key,
                now=now,
            ),
            self._fail,
        )
        if ev is not None or done is None:
            return ev
        self.adjust_open = False
        self._adjust_key = ""
        self._show(pid)
        self.notice = self.tr("members.admin.adjusted", points=f"{amount:+d}")
        return self._refresh()

    @rx.event
    def issue_card(self) -> Any:
        """Issue the selected member's card (once; a second issue shows the first)."""
        self._clear()
        pid = client_id(self.detail.get("id", ""))
        if pid is None:
            return None
        now = utcnow()
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: cards.issue_card(s, actor=p, patient_id=pid, now=now).number,
            self._fail,
        )
        if ev is not None or done is None:
            return ev
        self._show(pid)
        self.notice = self.tr("members.admin.card_issued", number=done)
        return self._refresh()


# --- pieces -------------------------------------------------------------------------------


def _en(zh: Any, en: Any) -> Any:
    return rx.cond(AppState.lang == "en", en, zh)


def _desk() -> rx.Component:
    s = MembersState
    return rx.card(
        rx.vstack(
            rx.form(
                rx.hstack(
                    rx.icon("scan-barcode", size=20),
                    rx.input(
                        name="card_number",
                        id="f-card_number",
                        placeholder=t("members.admin.card_placeholder"),
                        width="320px",
                        auto_focus=True,
                        auto_complete="off",
                    ),
                    rx.button(t("members.admin.lookup"), type="submit", id="lookup-card"),
                    align="center",
                    spacing="2",
                ),
                on_submit=s.lookup,
                reset_on_submit=True,
            ),
            rx.form(
                rx.hstack(
                    rx.icon("gift", size=20),
                    rx.input(
                        name="coupon_code",
                        id="f-coupon_code",
                        placeholder=t("members.admin.coupon_placeholder"),
                        width="320px",
                        auto_complete="off",
                    ),
                    rx.button(
                        t("members.admin.find_coupon"),
                        type="submit",
                        variant="soft",
                        id="find-coupon",
                    ),
                    align="center",
                    spacing="2",
                ),
                on_submit=s.find_coupon,
                reset_on_submit=True,
            ),
            rx.cond(~s.can_manage, _desk_patients()),
            spacing="3",
        ),
        width="100%",
        id="member-desk",
    )


def _desk_patients() -> rx.Component:
    s = MembersState
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.icon("user-search", size=20),
                rx.input(
                    name="desk_q",
                    id="f-desk_q",
                    placeholder=t("members.admin.desk_search"),
                    width="320px",
                    auto_complete="off",
                ),
                rx.button(t("common.search"), type="submit", variant="soft", id="desk-search"),
                align="center",
                spacing="2",
            ),
            on_submit=s.desk_search,
        ),
        rx.foreach(
            s.desk_hits,
            lambda h: rx.hstack(
                rx.text(h["name"], weight="medium"),
                rx.text(h["phone"], color_scheme="gray"),
                rx.button(
                    rx.icon("id-card", size=14),
                    t("members.admin.issue_or_show"),
                    size="1",
                    variant="soft",
                    on_click=s.desk_issue(h["id"]),
                    id="desk-issue-" + h["id"],
                ),
                align="center",
                spacing="3",
                padding_left="28px",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _coupon_card() -> rx.Component:
    s = MembersState
    c = s.coupon
    return rx.card(
        rx.hstack(
            rx.icon("gift", size=20),
            rx.vstack(
                rx.text(_en(c["name"], c["name_en"]), weight="bold", id="coupon-name"),
                rx.text(
                    rx.code(c["code"]),
                    " · ",
                    c["patient"],
                    " · ",
                    t("members.admin.coupon_expires"),
                    c["expires"],
                    size="2",
                ),
                rx.cond(
                    c["cash"] != "",
                    rx.text(t("members.admin.coupon_cash"), c["cash"], size="2", color="orange"),
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.badge(
                t_var("members.admin.coupon_status", c["status"], COUPON_STATUSES),
                color_scheme=rx.match(c["status"], ("issued", "green"), ("used", "gray"), "red"),
                id="coupon-status",
            ),
            rx.cond(
                c["usable"] == "1",
                rx.button(
                    rx.icon("hand-helping", size=14),
                    t("members.admin.hand_over"),
                    on_click=s.hand_over,
                    id="hand-over",
                ),
            ),
            rx.button(
                t("members.admin.hide"),
                variant="soft",
                color_scheme="gray",
                on_click=s.clear_coupon,
                id="close-coupon",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="coupon-card",
    )


def _adjust_dialog() -> rx.Component:
    s = MembersState
    return form_dialog(
        s,
        open_var=s.adjust_open,
        on_open_change=s.set_adjust_open,
        on_submit=s.adjust,
        trigger=rx.button(
            rx.icon("diff", size=14), t("members.admin.adjust"), size="2", id="adjust"
        ),
        title="members.admin.adjust",
        description="members.admin.adjust_hint",
        fields=[
            rx.text(
                t("members.admin.balance"), ": ", s.detail["balance"], size="2", id="adjust-balance"
            ),
            field(s, "members.admin.points", "points", placeholder="+200 / -50"),
            field(s, "members.admin.reason", "reason"),
        ],
        submit_key="members.admin.adjust_submit",
        submit_id="do-adjust",
    )


def _stat(label: str, value: Any, id: str, extra: Any = None) -> rx.Component:
    return rx.vstack(
        rx.text(t(label), size="1", color_scheme="gray"),
        rx.text(value, size="5", weight="bold", id=id),
        extra if extra is not None else rx.fragment(),
        spacing="0",
        min_width="110px",
    )


def _history_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["at"]),
        rx.table.cell(_en(r["kind"], r["kind_en"])),
        rx.table.cell(rx.text(r["points"], weight="medium")),
        rx.table.cell(_en(r["why"], r["why_en"])),
        rx.table.cell(r["note"]),
        id="history-" + r["id"],
    )


def _detail() -> rx.Component:
    s = MembersState
    d = s.detail
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(d["name"], size="4", id="member-name"),
                rx.text(d["phone"], color_scheme="gray"),
                rx.cond(
                    d["card"] != "",
                    rx.badge(rx.icon("id-card", size=12), d["card"], size="2", id="member-card"),
                    rx.badge(t("members.admin.no_card"), color_scheme="gray", id="member-no-card"),
                ),
                rx.cond(
                    d["level"] != "",
                    rx.badge(
                        _en(d["level"], d["level_en"]), color_scheme="amber", id="member-level"
                    ),
                ),
                rx.spacer(),
                rx.cond(
                    s.can_manage,
                    rx.hstack(
                        rx.cond(
                            d["card"] == "",
                            rx.button(
                                rx.icon("id-card", size=14),
                                t("members.admin.issue_card"),
                                variant="soft",
                                on_click=s.issue_card,
                                id="issue-card",
                            ),
                        ),
                        _adjust_dialog(),
                        spacing="2",
                    ),
                ),
                rx.button(
                    t("members.admin.hide"),
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.close_detail,
                    id="close-member",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.hstack(
                _stat("members.admin.balance", d["balance"], "member-balance"),
                _stat("members.admin.spendable", d["spendable"], "member-spendable"),
                _stat(
                    "members.admin.locked",
                    d["locked"],
                    "member-locked",
                    rx.cond(
                        d["unlocks_on"] != "",
                        rx.text(t("members.admin.unlocks_on"), d["unlocks_on"], size="1"),
                    ),
                ),
                _stat(
                    "members.admin.expiring",
                    d["expiring"],
                    "member-expiring",
                    rx.cond(
                        d["expiring_day"] != "",
                        rx.text(t("members.admin.until"), d["expiring_day"], size="1"),
                    ),
                ),
                _stat("members.admin.points_12m", d["points_12m"], "member-points-12m"),
                _stat("members.admin.spent_12m", d["spent_12m"], "member-spent-12m"),
                spacing="5",
                wrap="wrap",
            ),
            rx.cond(
                d["level"] != "",
                rx.text(
                    t("members.admin.benefits"),
                    ": ",
                    t("members.admin.discount"),
                    " ",
                    d["discount"],
                    "% · ",
                    t("members.admin.multiplier"),
                    " ×",
                    d["multiplier"],
                    size="2",
                    color_scheme="gray",
                ),
            ),
            rx.cond(
                d["card"] != "",
                rx.text(t("members.admin.issued_at"), " ", d["issued"], size="1"),
            ),
            rx.text(
                rx.cond(
                    d["referred_by"] != "",
                    rx.fragment(t("members.admin.referred_by"), " ", d["referred_by"], " · "),
                ),
                t("members.admin.referred_count"),
                " ",
                d["referred_count"],
                size="1",
                id="member-referrals",
            ),
            member_tags_panel(s),
            rx.heading(t("members.admin.history"), size="3"),
            rx.cond(
                s.history.length() > 0,  # type: ignore[attr-defined]
                data_table(
                    [
                        "members.admin.when",
                        "members.admin.kind",
                        "members.admin.points",
                        "members.admin.why",
                        "members.admin.note",
                    ],
                    rx.foreach(s.history, _history_row),
                    "member-history",
                ),
                rx.text(t("members.admin.no_history"), size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="member-detail",
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = MembersState
    return rx.table.row(
        select_cell(s, r),
        rx.table.cell(rx.cond(r["card"] != "", rx.code(r["card"]), rx.text("—"))),
        rx.table.cell(
            rx.link(r["name"], on_click=s.select(r["id"]), cursor="pointer", id="open-" + r["id"])
        ),
        rx.table.cell(r["phone"]),
        rx.table.cell(_en(r["level"], r["level_en"])),
        rx.table.cell(r["balance"]),
        rx.table.cell(r["spendable"]),
        rx.table.cell(
            rx.cond(
                r["expiring"] != "",
                rx.text(r["expiring"], " (", r["expiring_day"], ")", color_scheme="orange"),
            )
        ),
        id="member-" + r["id"],
    )


def _filters() -> rx.Component:
    s = MembersState
    return rx.form(
        rx.hstack(
            rx.input(
                name="q",
                id="f-q",
                placeholder=t("members.admin.search"),
                default_value=s.query,
                width="300px",
            ),
            rx.el.select(
                rx.el.option(t("members.admin.all_levels"), value=""),
                rx.foreach(
                    s.levels,
                    lambda lv: rx.el.option(_en(lv["name"], lv["name_en"]), value=lv["id"]),
                ),
                name="level",
                id="f-level",
                default_value=s.level_filter,
                style={"padding": "6px", "borderRadius": "6px"},
            ),
            rx.button(rx.icon("search", size=14), t("common.search"), type="submit", id="search"),
            spacing="2",
        ),
        on_submit=s.search,
    )


def _list() -> rx.Component:
    s = MembersState
    return rx.vstack(
        _filters(),
        bulk_bar(s),
        list_or_empty(
            s.rows,
            _row,
            [
                "mkt.members.selected_col",
                "members.admin.card",
                "common.name",
                "common.phone",
                "members.admin.level",
                "members.admin.balance",
                "members.admin.spendable",
                "members.admin.expiring",
            ],
            id="members-table",
            empty_key="members.admin.empty",
            empty_id="members-empty",
        ),
        rx.hstack(
            rx.button(
                t("common.prev"),
                variant="soft",
                size="1",
                disabled=s.page_no <= 1,
                on_click=s.goto_page(-1),
                id="prev-page",
            ),
            rx.text(s.page_no, " / ", s.pages, " · ", s.total, size="2", id="page-info"),
            rx.button(
                t("common.next"),
                variant="soft",
                size="1",
                disabled=s.page_no >= s.pages,
                on_click=s.goto_page(1),
                id="next-page",
            ),
            align="center",
            spacing="3",
        ),
        spacing="3",
        width="100%",
    )


@page("/admin/members", title="Members", on_load=MembersState.load)
def members_page() -> rx.Component:
    """Member desk and, for admins, the member list."""
    s = MembersState
    return admin_layout(
        rx.vstack(
            rx.heading(t("members.admin.title"), size="6"),
            rx.cond(~s.adjust_open, form_error(s)),
            _desk(),
            rx.cond(s.coupon.length() > 0, _coupon_card()),  # type: ignore[attr-defined]
            rx.cond(s.has_detail, _detail()),
            rx.cond(s.can_manage, _list()),
            spacing="4",
            width="100%",
        ),
        active="members",
    )
