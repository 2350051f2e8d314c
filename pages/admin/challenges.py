"""Health challenges (健康挑战) for admins with CHALLENGES_MANAGE: the list with
participation counts, the editor of a draft (dates, what a check-in records, the
rule for a counted day, the streak rule, target, reward points and badge),
publish and close, and a challenge's participants and leaderboard.

Every form value is re-checked by prm_saas.challenges.services (handlers are a
public API); this page only turns form fields into the service's input.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

import reflex as rx

from components.admin_ui import confirm_action, data_table, list_or_empty, page_header
from components.app_state import AppState
from components.forms import (
    FormMixin,
    client_id,
    dialog_footer,
    field,
    form_error,
    form_str,
    select_field,
)
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.challenges import services as challenges
from prm_saas.challenges.models import Challenge, Comparison, StreakRule, ValueKind
from prm_saas.display import local_time
from tenants.types import utcnow

STATUSES = ["draft", "published", "closed"]
VALUE_KINDS = [
    (ValueKind.CHECKIN.value, "challenges.admin.kind.checkin"),
    (ValueKind.NUMBER.value, "challenges.admin.kind.number"),
    (ValueKind.PAIR.value, "challenges.admin.kind.pair"),
]
COMPARISONS = [
    (Comparison.AT_LEAST.value, "challenges.admin.cmp.at_least"),
    (Comparison.AT_MOST.value, "challenges.admin.cmp.at_most"),
]
STREAK_RULES = [
    (StreakRule.TOTAL.value, "challenges.admin.rule.total"),
    (StreakRule.CONSECUTIVE.value, "challenges.admin.rule.consecutive"),
]
_FORM_FIELDS = (
    "title_zh",
    "title_en",
    "description_zh",
    "description_en",
    "starts_on",
    "ends_on",
    "value_kind",
    "unit",
    "comparison",
    "threshold",
    "threshold2",
    "streak_rule",
    "target_days",
    "reward_points",
    "badge_name",
)


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else str(x)


def challenge_input_from_form(form: dict[str, Any]) -> challenges.ChallengeInput:
    """The editor's fields as the service's input (strings; the service validates)."""
    v = {k: form_str(form, k) for k in _FORM_FIELDS}
    return challenges.ChallengeInput(
        title_zh=v["title_zh"],
        title_en=v["title_en"],
        description_zh=v["description_zh"],
        description_en=v["description_en"],
        starts_on=v["starts_on"],
        ends_on=v["ends_on"],
        value_kind=v["value_kind"],
        unit=v["unit"],
        comparison=v["comparison"] or Comparison.AT_LEAST.value,
        threshold=v["threshold"],
        threshold2=v["threshold2"],
        streak_rule=v["streak_rule"],
        target_days=v["target_days"],
        reward_points=v["reward_points"] or "0",
        badge_name=v["badge_name"],
    )


def _rule_text(c: Challenge) -> str:
    """The counted-day rule in symbols, e.g. ">= 10000 步" or "<= 140 / 90 mmHg"."""
    if c.value_kind == ValueKind.CHECKIN:
        return ""
    if c.threshold is None and c.threshold2 is None:
        return c.unit
    limit = _num(c.threshold)
    if c.value_kind == ValueKind.PAIR and c.threshold2 is not None:
        limit = f"{limit} / {_num(c.threshold2)}"
    return f"{c.comparison} {limit} {c.unit}".strip()


class ChallengesAdminState(FormMixin, AppState):
    """The list, the editor and the selected challenge's participation."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # editor
    edit_open: bool = False
    edit_id: str = ""  # "" = a new challenge
    ch: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    form_key: int = 0
    # detail
    has_detail: bool = False
    detail: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    participants: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    leaders: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        def read(session: Any, actor: Any) -> list[dict[str, str]]:
            return [
                {
                    "id": str(x.challenge.id),
                    "title": x.challenge.title_zh,
                    "title_en": x.challenge.title_en or x.challenge.title_zh,
                    "dates": f"{x.challenge.starts_on} – {x.challenge.ends_on}",
                    "status": x.challenge.status,
                    "kind": x.challenge.value_kind,
                    "rule": _rule_text(x.challenge),
                    "streak_rule": x.challenge.streak_rule,
                    "target": str(x.challenge.target_days),
                    "points": str(x.challenge.reward_points),
                    "badge": x.challenge.badge_name,
                    "participants": str(x.participants),
                    "completed": str(x.completed),
                }
                for x in challenges.list_challenges(session=session, actor=actor)
            ]

        result, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if result is not None:
            self.rows = result
        return ev

    def _show(self, challenge_id: int) -> Any:
        tz = self._tz()
        now = utcnow()

        def read(session: Any, actor: Any) -> bool:
            view = challenges.participation(
                session=session, actor=actor, challenge_id=challenge_id, now=now
            )
            board = challenges.leaderboard(
                session=session, actor=actor, challenge_id=challenge_id, limit=20
            )
            c = view.challenge
            self.detail = {
                "id": str(c.id),
                "title": c.title_zh,
                "title_en": c.title_en or c.title_zh,
                "dates": f"{c.starts_on} – {c.ends_on}",
                "status": c.status,
                "kind": c.value_kind,
                "rule": _rule_text(c),
                "streak_rule": c.streak_rule,
                "target": str(c.target_days),
                "points": str(c.reward_points),
                "badge": c.badge_name,
                "participants": str(view.participants),
                "completed": str(view.completed),
            }
            self.participants = [
                {
                    "rank": str(i + 1),
                    "id": str(r.participant_id),
                    "nickname": r.nickname,
                    "name": r.patient_name,
                    "phone": r.patient_phone,
                    "joined": local_time(r.joined_at, tz),
                    "days": str(r.days_counted),
                    "streak": str(r.current_streak),
                    "best": str(r.best_streak),
                    "last": r.last_counted_on.isoformat() if r.last_counted_on else "",
                    "completed": local_time(r.completed_at, tz),
                    "rewarded": "1" if r.reward_given else "",
                }
                for i, r in enumerate(view.rows)
            ]
            self.leaders = [
                {
                    "rank": str(x.rank),
                    "nickname": x.nickname,
                    "score": str(x.score),
                    "done": "1" if x.completed else "",
                }
                for x in board
            ]
            return True

        done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        self.has_detail = bool(done)
        if not done:
            self.detail, self.participants, self.leaders = {}, [], []
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins with CHALLENGES_MANAGE only; others get the 404 page."""
        self._clear()
        self.edit_open = False
        self.has_detail = False
        self.detail, self.participants, self.leaders = {}, [], []
        redirect = self._load(PrincipalKind.STAFF, Permission.CHALLENGES_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        wanted = client_id(self.router.url.query_parameters.get("challenge", ""))
        if wanted is not None:
            self._show(wanted)
        return self._refresh()

    # --- the editor ---------------------------------------------------------------------

    @rx.event
    def new_challenge(self) -> None:
        """Open an empty editor: starting today (the tenant's day), a 21-day check-in."""
        self._clear()
        today = datetime.now(zoneinfo.ZoneInfo(self._tz())).date()
        self.edit_id = ""
        self.ch = {k: "" for k in _FORM_FIELDS}
        self.ch.update(
            starts_on=today.isoformat(),
            ends_on=(today + timedelta(days=20)).isoformat(),
            value_kind=ValueKind.CHECKIN.value,
            comparison=Comparison.AT_LEAST.value,
            streak_rule=StreakRule.TOTAL.value,
            target_days="21",
            reward_points="0",
        )
        self.form_key += 1
        self.edit_open = True

    @rx.event
    def edit_challenge(self, challenge_id: str) -> Any:
        """Open the editor on a draft (the service refuses to change a published one)."""
        self._clear()
        cid = client_id(challenge_id)
        if cid is None:
            return None

        def read(session: Any, actor: Any) -> bool:
            c = challenges.participation(
                session=session, actor=actor, challenge_id=cid, now=utcnow(), limit=1
            ).challenge
            self.ch = {
                "title_zh": c.title_zh,
                "title_en": c.title_en,
                "description_zh": c.description_zh,
                "description_en": c.description_en,
                "starts_on": c.starts_on.isoformat(),
                "ends_on": c.ends_on.isoformat(),
                "value_kind": str(c.value_kind),
                "unit": c.unit,
                "comparison": str(c.comparison),
                "threshold": _num(c.threshold),
                "threshold2": _num(c.threshold2),
                "streak_rule": str(c.streak_rule),
                "target_days": str(c.target_days),
                "reward_points": str(c.reward_points),
                "badge_name": c.badge_name,
            }
            self.edit_id = str(c.id)
            return True

        done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if done:
            self.form_key += 1
            self.edit_open = True
        return ev

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        """Close (or open) the editor."""
        self.edit_open = bool(value)
        if not self.edit_open:
            self.field_errors = {}

    @rx.event
    def save_challenge(self, form: dict[str, Any]) -> Any:
        """Create a draft, or change one."""
        self._clear()
        data = challenge_input_from_form(form)
        cid = client_id(self.edit_id)

        def save(session: Any, actor: Any) -> int:
            if cid is None:
                c = challenges.create_challenge(session=session, actor=actor, data=data)
            else:
                c = challenges.update_challenge(
                    session=session, actor=actor, challenge_id=cid, data=data
                )
            return int(c.id or 0)

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None:
            return ev
        if done is None:
            return None
        self.edit_open = False
        self.notice = self.tr("common.saved")
        self._show(done)
        return self._refresh()

    # --- publish, close, show -----------------------------------------------------------

    def _status_change(self, challenge_id: Any, fn: Any, notice_key: str) -> Any:
        self._clear()
        cid = client_id(challenge_id)
        if cid is None:
            return None
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fn(session=s, actor=p, challenge_id=cid),
            self._fail,
        )
        if ev is not None:
            return ev
        if done is not None:
            self.notice = self.tr(notice_key)
        if self.has_detail and self.detail.get("id") == str(cid):
            error, notice = self.error, self.notice
            self._show(cid)
            self.error, self.notice = error, notice
        return self._refresh()

    @rx.event
    def publish(self, challenge_id: str) -> Any:
        """Open a draft to patients."""
        return self._status_change(
            challenge_id, challenges.publish_challenge, "challenges.admin.published_notice"
        )

    @rx.event
    def close(self, challenge_id: str) -> Any:
        """Close a challenge: no more joining or check-ins."""
        return self._status_change(
            challenge_id, challenges.close_challenge, "challenges.admin.closed_notice"
        )

    @rx.event
    def show(self, challenge_id: str) -> Any:
        """Show a challenge's participants and leaderboard."""
        self._clear()
        cid = client_id(challenge_id)
        return None if cid is None else self._show(cid)

    @rx.event
    def close_detail(self) -> None:
        """Back to the list only."""
        self._clear()
        self.has_detail = False
        self.detail, self.participants, self.leaders = {}, [], []


# --- pieces -------------------------------------------------------------------------------


def _status_badge(status: Any) -> rx.Component:
    return rx.badge(
        t_var("challenges.admin.status", status, STATUSES),
        color_scheme=rx.match(status, ("published", "green"), ("draft", "blue"), "gray"),
        variant="soft",
    )


def _kind_text(kind: Any) -> rx.Component | rx.Var:
    return t_var("challenges.admin.kind", kind, [k for k, _ in VALUE_KINDS])


def _streak_text(rule: Any) -> rx.Component | rx.Var:
    return t_var("challenges.admin.rule", rule, [k for k, _ in STREAK_RULES])


def _actions(r: Any, *, suffix: str = "") -> rx.Component:
    s = ChallengesAdminState
    return rx.hstack(
        rx.cond(
            r["status"] == "draft",
            rx.fragment(
                rx.button(
                    t("challenges.admin.edit"),
                    size="1",
                    variant="soft",
                    on_click=s.edit_challenge(r["id"]),
                    id="edit-challenge-" + r["id"] + suffix,
                ),
                rx.button(
                    t("challenges.admin.publish"),
                    size="1",
                    color_scheme="green",
                    on_click=s.publish(r["id"]),
                    id="publish-challenge-" + r["id"] + suffix,
                ),
            ),
        ),
        rx.cond(
            r["status"] != "closed",
            confirm_action(
                "challenges.admin.close",
                "challenges.admin.close_confirm",
                s.close(r["id"]),
                id="close-challenge-" + r["id"] + suffix,
                confirm_id="confirm-close-" + r["id"] + suffix,
            ),
        ),
        spacing="2",
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = ChallengesAdminState
    return rx.table.row(
        rx.table.cell(
            rx.link(
                rx.cond(AppState.lang == "en", r["title_en"], r["title"]),
                on_click=s.show(r["id"]),
                cursor="pointer",
                id="show-challenge-" + r["id"],
            )
        ),
        rx.table.cell(r["dates"]),
        rx.table.cell(_kind_text(r["kind"]), " ", r["rule"]),
        rx.table.cell(_streak_text(r["streak_rule"]), " · ", r["target"]),
        rx.table.cell(
            r["points"], rx.cond(r["badge"] != "", rx.badge(r["badge"], margin_left="6px"))
        ),
        rx.table.cell(_status_badge(r["status"])),
        rx.table.cell(r["participants"], " / ", r["completed"]),
        rx.table.cell(_actions(r)),
        id="challenge-" + r["id"],
    )


def _area(name: str, label_key: str, default: Any) -> rx.Component:
    s = ChallengesAdminState
    err = s.field_errors[name]
    return rx.vstack(
        rx.el.label(
            t(label_key), html_for=f"f-{name}", style={"fontSize": "14px", "fontWeight": 500}
        ),
        rx.text_area(name=name, id=f"f-{name}", default_value=default, rows="2", width="100%"),
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id=f"err-{name}")),
        spacing="1",
        width="100%",
    )


def _editor() -> rx.Component:
    s = ChallengesAdminState
    c = s.ch
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(
                    s.edit_id == "", t("challenges.admin.new"), t("challenges.admin.edit_title")
                )
            ),
            rx.form(
                rx.vstack(
                    form_error(s, where="dialog"),
                    rx.grid(
                        field(
                            s, "challenges.admin.title_zh", "title_zh", default_value=c["title_zh"]
                        ),
                        field(
                            s, "challenges.admin.title_en", "title_en", default_value=c["title_en"]
                        ),
                        field(
                            s,
                            "challenges.admin.starts_on",
                            "starts_on",
                            type="date",
                            default_value=c["starts_on"],
                        ),
                        field(
                            s,
                            "challenges.admin.ends_on",
                            "ends_on",
                            type="date",
                            default_value=c["ends_on"],
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.grid(
                        _area(
                            "description_zh", "challenges.admin.description_zh", c["description_zh"]
                        ),
                        _area(
                            "description_en", "challenges.admin.description_en", c["description_en"]
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.heading(t("challenges.admin.checkin_heading"), size="3"),
                    rx.text(t("challenges.admin.checkin_hint"), size="1", color_scheme="gray"),
                    rx.grid(
                        select_field(
                            s,
                            "challenges.admin.value_kind",
                            "value_kind",
                            VALUE_KINDS,
                            default_value=c["value_kind"],
                        ),
                        field(
                            s,
                            "challenges.admin.unit",
                            "unit",
                            default_value=c["unit"],
                            placeholder="步 / kg / mmHg",
                        ),
                        select_field(
                            s,
                            "challenges.admin.comparison",
                            "comparison",
                            COMPARISONS,
                            default_value=c["comparison"],
                        ),
                        rx.hstack(
                            field(
                                s,
                                "challenges.admin.threshold",
                                "threshold",
                                default_value=c["threshold"],
                            ),
                            field(
                                s,
                                "challenges.admin.threshold2",
                                "threshold2",
                                default_value=c["threshold2"],
                            ),
                            width="100%",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.heading(t("challenges.admin.goal_heading"), size="3"),
                    rx.grid(
                        select_field(
                            s,
                            "challenges.admin.streak_rule",
                            "streak_rule",
                            STREAK_RULES,
                            default_value=c["streak_rule"],
                        ),
                        field(
                            s,
                            "challenges.admin.target_days",
                            "target_days",
                            default_value=c["target_days"],
                        ),
                        field(
                            s,
                            "challenges.admin.reward_points",
                            "reward_points",
                            default_value=c["reward_points"],
                            hint_key="challenges.admin.reward_points_hint",
                        ),
                        field(
                            s,
                            "challenges.admin.badge_name",
                            "badge_name",
                            default_value=c["badge_name"],
                            placeholder="血压达人",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    dialog_footer("common.save", "save-challenge"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=s.save_challenge,
                key=s.form_key,
                width="100%",
            ),
            max_width="820px",
            max_height="90vh",
            overflow_y="auto",
        ),
        open=s.edit_open,
        on_open_change=s.set_edit_open,
    )


def _participant_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["rank"]),
        rx.table.cell(r["nickname"]),
        rx.table.cell(rx.text(r["name"]), rx.text(r["phone"], size="1", color_scheme="gray")),
        rx.table.cell(r["joined"]),
        rx.table.cell(r["days"]),
        rx.table.cell(r["streak"], " / ", r["best"]),
        rx.table.cell(r["last"]),
        rx.table.cell(
            rx.cond(
                r["completed"] != "",
                rx.vstack(
                    rx.badge(t("challenges.admin.done"), color_scheme="green"),
                    rx.text(r["completed"], size="1"),
                    spacing="1",
                ),
                rx.text("—", color_scheme="gray"),
            )
        ),
        id="participant-" + r["nickname"],
    )


def _detail() -> rx.Component:
    s = ChallengesAdminState
    d = s.detail
    leaders = rx.vstack(
        rx.heading(t("challenges.admin.leaderboard"), size="3"),
        rx.text(t("challenges.admin.leaderboard_hint"), size="1", color_scheme="gray"),
        rx.foreach(
            s.leaders,
            lambda x: rx.hstack(
                rx.text(x["rank"], width="28px", weight="bold"),
                rx.text(x["nickname"]),
                rx.spacer(),
                rx.text(x["score"]),
                rx.cond(x["done"] == "1", rx.icon("award", size=14, color=rx.color("green", 10))),
                width="100%",
                id="leader-" + x["rank"],
            ),
        ),
        rx.cond(
            s.leaders.length() == 0,  # type: ignore[attr-defined]
            rx.text(t("challenges.admin.no_participants"), size="2", color_scheme="gray"),
        ),
        spacing="1",
        width="260px",
        min_width="260px",
        id="leaderboard",
    )
    participants = rx.vstack(
        rx.heading(t("challenges.admin.participation"), size="3"),
        rx.cond(
            s.participants.length() > 0,  # type: ignore[attr-defined]
            data_table(
                [
                    "challenges.admin.rank",
                    "challenges.admin.nickname",
                    "challenges.admin.patient",
                    "challenges.admin.joined",
                    "challenges.admin.days_counted",
                    "challenges.admin.streak",
                    "challenges.admin.last_day",
                    "challenges.admin.completed",
                ],
                rx.foreach(s.participants, _participant_row),
                "participants-table",
            ),
            rx.text(
                t("challenges.admin.no_participants"), color_scheme="gray", id="no-participants"
            ),
        ),
        spacing="2",
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(
                    rx.cond(AppState.lang == "en", d["title_en"], d["title"]),
                    size="4",
                    id="detail-title",
                ),
                _status_badge(d["status"]),
                rx.spacer(),
                _actions(d, suffix="-detail"),
                rx.button(
                    t("challenges.admin.back"),
                    variant="soft",
                    size="1",
                    on_click=s.close_detail,
                    id="close-detail",
                ),
                width="100%",
                align="center",
            ),
            rx.hstack(
                rx.text(d["dates"]),
                rx.text(_kind_text(d["kind"]), " ", d["rule"]),
                rx.text(
                    _streak_text(d["streak_rule"]),
                    " · ",
                    t("challenges.admin.target_days"),
                    " ",
                    d["target"],
                ),
                rx.text(t("challenges.admin.reward_points"), " ", d["points"]),
                rx.cond(d["badge"] != "", rx.badge(d["badge"])),
                spacing="4",
                wrap="wrap",
                size="2",
            ),
            rx.hstack(
                rx.text(
                    t("challenges.admin.participants"),
                    ": ",
                    d["participants"],
                    id="detail-participants",
                ),
                rx.text(
                    t("challenges.admin.completed"), ": ", d["completed"], id="detail-completed"
                ),
                spacing="4",
            ),
            rx.hstack(participants, leaders, spacing="5", align="start", width="100%"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="challenge-detail",
    )


@page("/admin/challenges", title="Challenges", on_load=ChallengesAdminState.load)
def challenges_page() -> rx.Component:
    """The tenant's health challenges."""
    s = ChallengesAdminState
    return admin_layout(
        rx.vstack(
            page_header(
                "challenges.admin.title",
                action_key="challenges.admin.new",
                on_click=s.new_challenge,
                id="new-challenge",
            ),
            rx.cond(~s.edit_open, form_error(s)),
            rx.cond(s.has_detail, _detail()),
            list_or_empty(
                s.rows,
                _row,
                [
                    "challenges.admin.name",
                    "challenges.admin.dates",
                    "challenges.admin.checkin",
                    "challenges.admin.goal",
                    "challenges.admin.reward",
                    "common.status",
                    "challenges.admin.participants_completed",
                    "common.actions",
                ],
                id="challenges-table",
                empty_key="challenges.admin.empty",
                empty_id="challenges-empty",
            ),
            _editor(),
            spacing="4",
            width="100%",
        ),
        active="challenges",
    )
