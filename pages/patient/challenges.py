"""Health challenges for patients (mobile first): the open challenges, and one
challenge with joining under a nickname, today's check-in (the value(s) the
challenge records), progress (days counted, streaks, target), the reward once
earned and the leaderboard, which shows nicknames only.

Pages only call services (prm_saas.challenges.services); every check lives there.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error, form_str
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.challenges.models import Challenge, ChallengeStatus, StreakRule, ValueKind
from prm_saas.challenges.services import (
    LeaderRow,
    Progress,
    challenge_for_patient,
    check_in,
    join,
    leaderboard,
    my_progress,
    open_challenges,
)
from prm_saas.i18n import translate
from tenants.types import utcnow

PAT = PrincipalKind.PATIENT
SYMBOLS = {">=": "≥", "<=": "≤"}  # how the comparisons read on a phone


def number_text(x: float | None) -> str:
    """A threshold or value for screens: 10000.0 -> "10000", 5.5 -> "5.5"."""
    if x is None:
        return ""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def rule_text(c: Challenge, lang: str) -> str:
    """What makes a day count, in words: "≥ 10000 步", "≤ 140/90 mmHg", "打卡即计入"."""
    if c.value_kind == ValueKind.CHECKIN:
        return translate("mychallenge.rule_checkin", lang)
    if c.threshold is None:
        return translate("mychallenge.rule_any_value", lang)
    limit = number_text(c.threshold)
    if c.value_kind == ValueKind.PAIR and c.threshold2 is not None:
        limit = f"{limit}/{number_text(c.threshold2)}"
    return translate(
        "mychallenge.rule_threshold",
        lang,
        comparison=SYMBOLS.get(str(c.comparison), str(c.comparison)),
        limit=limit,
        unit=c.unit,
    ).strip()


def target_text(c: Challenge, lang: str) -> str:
    """The target: "连续 21 天" / "21 days in a row", or "累计 21 天" / "21 days in total"."""
    key = (
        "mychallenge.target_consecutive"
        if c.streak_rule == StreakRule.CONSECUTIVE
        else "mychallenge.target_total"
    )
    return translate(key, lang, days=c.target_days)


def challenge_row(c: Challenge, joined: bool, lang: str) -> dict[str, str]:
    """A challenge as the patient pages show it (every value a string)."""
    en = lang == "en"
    return {
        "id": str(c.id),
        "title": (c.title_en or c.title_zh) if en else c.title_zh,
        "description": (c.description_en or c.description_zh) if en else c.description_zh,
        "dates": f"{c.starts_on.isoformat()} – {c.ends_on.isoformat()}",
        "rule": rule_text(c, lang),
        "target": target_text(c, lang),
        "target_days": str(c.target_days),
        "reward": str(c.reward_points) if c.reward_points > 0 else "",
        "badge": c.badge_name,
        "kind": str(c.value_kind.value if hasattr(c.value_kind, "value") else c.value_kind),
        "unit": c.unit,
        "status": str(c.status.value if hasattr(c.status, "value") else c.status),
        "joined": "1" if joined else "",
    }


def progress_row(p: Progress) -> dict[str, str]:
    """The patient's progress (every value a string; flags are "1" or "")."""
    target = max(1, p.target_days)
    return {
        "nickname": p.nickname,
        "days": str(p.days_counted),
        "target": str(p.target_days),
        "percent": str(min(100, p.days_counted * 100 // target)),
        "streak": str(p.current_streak),
        "best": str(p.best_streak),
        "today": "1" if p.checked_in_today else "",
        "completed": "1" if p.completed else "",
        "rewarded": "1" if p.reward_given else "",
        "badge": p.badge_name,
    }


def leader_row(r: LeaderRow) -> dict[str, str]:
    """One leaderboard line: rank, nickname, score; nothing else about the person."""
    return {
        "rank": str(r.rank),
        "nickname": r.nickname,
        "score": str(r.score),
        "completed": "1" if r.completed else "",
        "me": "1" if r.is_me else "",
    }


def checkin_values(form: dict[str, Any], kind: str) -> list[str]:
    """The check-in form's values, as typed, for the service to check."""
    if kind == ValueKind.CHECKIN:
        return []
    if kind == ValueKind.PAIR:
        return [form_str(form, "value"), form_str(form, "value2")]
    return [form_str(form, "value")]


# --- /challenges ---------------------------------------------------------------------------


class ChallengesState(FormMixin, PatientState):
    """The open challenges."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    @rx.event
    def load(self) -> Any:
        """Published challenges not over yet, with "joined" marks."""
        self._clear()
        self.rows = []
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        lang = self.lang
        cards, ev = self._run(
            PAT, lambda s, p: open_challenges(session=s, actor=p, now=utcnow()), self._fail
        )
        if ev is not None:
            return ev
        self.rows = [challenge_row(c.challenge, c.joined, lang) for c in cards or []]
        return self._refresh_unread()


def _challenge_card(c: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("trophy", size=18, color=AppState.tenant_color),
                    rx.text(c["title"], weight="bold", flex="1"),
                    rx.cond(
                        c["joined"] != "",
                        rx.badge(t("mychallenge.joined"), color_scheme="green", variant="soft"),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.text(c["dates"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.badge(c["target"], variant="soft"),
                    rx.badge(c["rule"], variant="outline", color_scheme="gray"),
                    rx.cond(
                        c["reward"] != "",
                        rx.badge(
                            "+", c["reward"], " ", t("mychallenge.points"), color_scheme="amber"
                        ),
                    ),
                    spacing="1",
                    wrap="wrap",
                ),
                spacing="1",
                width="100%",
            ),
            width="100%",
        ),
        href=AppState.base_path + "/challenges/" + c["id"],
        id="challenge-" + c["id"],
        underline="none",
        color="inherit",
        width="100%",
    )


@page("/challenges", title="Challenges", on_load=ChallengesState.load)
def challenges_page() -> rx.Component:
    """The list of open challenges."""
    s = ChallengesState
    return patient_layout(
        rx.vstack(
            rx.heading(t("mychallenge.title"), size="6"),
            form_error(s),
            rx.cond(
                s.rows.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(
                    rx.foreach(s.rows, _challenge_card),
                    spacing="2",
                    width="100%",
                    id="challenge-list",
                ),
                rx.center(
                    rx.vstack(
                        rx.icon("trophy", size=40, color=rx.color("gray", 8)),
                        rx.text(t("mychallenge.none"), color_scheme="gray"),
                        align="center",
                        spacing="2",
                    ),
                    padding_y="48px",
                    width="100%",
                    id="challenges-empty",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        active="member",
    )


# --- /challenges/<id> ----------------------------------------------------------------------


def _path_id(state: AppState) -> str:
    """The path segment after "challenges" (checked by the service, not here)."""
    parts = [p for p in (state.router.url.path or "").split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "challenges":
            return parts[i + 1]
    return ""


class ChallengeDetailState(FormMixin, PatientState):
    """One challenge: join, check in, progress, leaderboard."""

    shown_id: str = ""  # not "challenge_id": that name is the route argument
    info: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    joined: bool = False
    can_check_in: bool = False
    progress: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    percent: int = 0
    leaders: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    def _fetch(self) -> bool:
        """Read the challenge, my progress and the leaderboard; False if not found."""
        lang = self.lang
        cid = self.shown_id
        now = utcnow()

        def use_case(s: Any, p: Any) -> Any:
            card = challenge_for_patient(session=s, actor=p, challenge_id=cid)
            cid_int = int(card.challenge.id or 0)
            mine = (
                my_progress(session=s, actor=p, challenge_id=cid_int, now=now)
                if card.joined
                else None
            )
            board = leaderboard(session=s, actor=p, challenge_id=cid_int)
            return card, mine, board

        got, _ev = self._run(PAT, use_case, lambda _m, _f: None)
        if got is None:
            return False
        card, mine, board = got
        self.info = challenge_row(card.challenge, card.joined, lang)
        self.joined = card.joined
        self.can_check_in = card.joined and card.challenge.status == ChallengeStatus.PUBLISHED
        self.progress = progress_row(mine) if mine is not None else {}
        self.percent = int(self.progress.get("percent", "0") or 0)
        self.leaders = [leader_row(r) for r in board]
        return True

    @rx.event
    def load(self) -> Any:
        """The challenge of the path, if the patient may see it; else the 404 page."""
        self._clear()
        self.info, self.progress, self.leaders = {}, {}, []
        self.joined = self.can_check_in = False
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        self.shown_id = _path_id(self)
        if not self._fetch():
            self.page_status = "not_found"
            return None
        return self._refresh_unread()

    @rx.event
    def join_challenge(self, form: dict[str, Any]) -> Any:
        """Join under the nickname typed (unique in the challenge)."""
        self._clear()
        nickname = form_str(form, "nickname")
        cid = self.shown_id

        def use_case(s: Any, p: Any) -> Any:
            return join(
                session=s,
                actor=p,
                challenge_id=cid,  # type: ignore[arg-type]  # any value: the service checks it
                nickname=nickname,
                now=utcnow(),
            )

        done, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        if done is not None:
            self._fetch()
            self.notice = self.tr("mychallenge.joined_notice", nickname=done.nickname)
        return None

    @rx.event
    def submit_check_in(self, form: dict[str, Any]) -> Any:
        """Today's check-in with the value(s) typed; the service decides if it counts."""
        self._clear()
        values = checkin_values(form, self.info.get("kind", ""))
        cid = self.shown_id

        def use_case(s: Any, p: Any) -> Any:
            return check_in(
                session=s,
                actor=p,
                challenge_id=cid,  # type: ignore[arg-type]  # any value: the service checks it
                values=values,
                now=utcnow(),
            )

        got, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        if got is None:
            return None
        self._fetch()
        if got.completed and got.reward_given:
            self.notice = self.tr(
                "mychallenge.completed_notice", points=self.info.get("reward", "") or "0"
            )
        else:
            self.notice = self.tr(
                "mychallenge.checked_in_notice", days=got.days_counted, target=got.target_days
            )
        return None


def _stat(label_key: str, value: Any, id_: str) -> rx.Component:
    return rx.vstack(
        rx.text(value, size="6", weight="bold", id=id_),
        rx.text(t(label_key), size="1", color_scheme="gray"),
        align="center",
        spacing="0",
        flex="1",
    )


def _value_input(name: str, placeholder: Any) -> rx.Component:
    return rx.input(
        name=name,
        id=f"checkin-{name}",
        type="text",
        input_mode="decimal",
        placeholder=placeholder,
        size="3",
        width="100%",
    )


def _checkin_form() -> rx.Component:
    s = ChallengeDetailState
    kind = s.info["kind"]
    err = s.field_errors
    return rx.form(
        rx.vstack(
            rx.cond(
                kind == "number",
                _value_input("value", s.info["unit"]),
            ),
            rx.cond(
                kind == "pair",
                rx.hstack(
                    _value_input("value", s.info["unit"]),
                    rx.text("/", size="4"),
                    _value_input("value2", s.info["unit"]),
                    width="100%",
                    align="center",
                ),
            ),
            rx.cond(err["value"], rx.text(err["value"], size="1", color_scheme="red")),
            rx.cond(err["value2"], rx.text(err["value2"], size="1", color_scheme="red")),
            rx.button(
                rx.icon("circle-check", size=18),
                t("mychallenge.check_in"),
                type="submit",
                size="3",
                width="100%",
                id="checkin-submit",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=s.submit_check_in,
        reset_on_submit=True,
        width="100%",
    )


def _join_form() -> rx.Component:
    s = ChallengeDetailState
    return rx.form(
        rx.vstack(
            rx.el.label(
                t("mychallenge.nickname"),
                html_for="f-nickname",
                style={"fontSize": "14px", "fontWeight": 500},
            ),
            rx.input(name="nickname", id="f-nickname", size="3", width="100%", max_length=20),
            rx.cond(
                s.field_errors["nickname"],
                rx.text(
                    s.field_errors["nickname"], size="1", color_scheme="red", id="err-nickname"
                ),
                rx.text(t("mychallenge.nickname_hint"), size="1", color_scheme="gray"),
            ),
            rx.button(
                t("mychallenge.join"), type="submit", size="3", width="100%", id="join-submit"
            ),
            spacing="2",
            width="100%",
            align="start",
        ),
        on_submit=s.join_challenge,
        width="100%",
    )


def _progress_card() -> rx.Component:
    s = ChallengeDetailState
    p = s.progress
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(t("mychallenge.my_progress"), weight="bold", flex="1"),
                rx.cond(
                    p["today"] != "",
                    rx.badge(t("mychallenge.done_today"), color_scheme="green", id="done-today"),
                ),
                width="100%",
            ),
            rx.progress(value=s.percent, width="100%", id="progress-bar"),
            rx.hstack(
                _stat("mychallenge.days_counted", p["days"] + " / " + p["target"], "progress-days"),
                _stat("mychallenge.streak", p["streak"], "progress-streak"),
                _stat("mychallenge.best_streak", p["best"], "progress-best"),
                width="100%",
            ),
            rx.cond(
                p["completed"] != "",
                rx.callout(
                    rx.text(
                        t("mychallenge.completed"),
                        rx.cond(
                            s.info["reward"] != "",
                            rx.text.span(" +", s.info["reward"], " ", t("mychallenge.points")),
                        ),
                        rx.cond(
                            p["badge"] != "", rx.text.span(" · ", p["badge"], id="challenge-badge")
                        ),
                    ),
                    icon="award",
                    color_scheme="amber",
                    width="100%",
                    id="challenge-reward",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="challenge-progress",
    )


def _leader(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.text(r["rank"], weight="bold", min_width="28px"),
        rx.text(r["nickname"], flex="1", weight=rx.cond(r["me"] != "", "bold", "regular")),
        rx.cond(r["completed"] != "", rx.icon("award", size=16, color=rx.color("amber", 9))),
        rx.text(r["score"], " ", t("mychallenge.days"), size="2"),
        width="100%",
        align="center",
        padding="6px 8px",
        border_radius="6px",
        background=rx.cond(r["me"] != "", rx.color("accent", 3), "transparent"),
        class_name="leader-row",
    )


@page("/challenges/[challenge_id]", title="Challenge", on_load=ChallengeDetailState.load)
def challenge_page() -> rx.Component:
    """One challenge."""
    s = ChallengeDetailState
    i = s.info
    return patient_layout(
        rx.vstack(
            rx.link(
                rx.hstack(rx.icon("chevron-left", size=16), t("mychallenge.title"), spacing="1"),
                href=AppState.base_path + "/challenges",
                size="2",
            ),
            rx.heading(i["title"], size="5", id="challenge-title"),
            rx.text(i["dates"], size="2", color_scheme="gray"),
            rx.hstack(
                rx.badge(i["target"], variant="soft"),
                rx.badge(i["rule"], variant="outline", color_scheme="gray"),
                rx.cond(
                    i["reward"] != "",
                    rx.badge("+", i["reward"], " ", t("mychallenge.points"), color_scheme="amber"),
                ),
                rx.cond(
                    i["badge"] != "",
                    rx.badge(rx.icon("medal", size=12), i["badge"], color_scheme="amber"),
                ),
                rx.cond(
                    i["status"] == "closed",
                    rx.badge(t("mychallenge.closed"), color_scheme="gray"),
                ),
                spacing="1",
                wrap="wrap",
            ),
            rx.cond(
                i["description"] != "",
                rx.text(i["description"], size="2", white_space="pre-wrap"),
            ),
            form_error(s),
            rx.cond(
                s.joined,
                rx.vstack(
                    _progress_card(),
                    rx.cond(s.can_check_in, _checkin_form()),
                    spacing="3",
                    width="100%",
                ),
                rx.cond(i["status"] == "published", _join_form()),
            ),
            rx.vstack(
                rx.text(t("mychallenge.leaderboard"), weight="bold"),
                rx.cond(
                    s.leaders.length() > 0,  # type: ignore[attr-defined]
                    rx.vstack(rx.foreach(s.leaders, _leader), spacing="1", width="100%"),
                    rx.text(t("mychallenge.no_leaders"), size="2", color_scheme="gray"),
                ),
                spacing="2",
                width="100%",
                id="leaderboard",
            ),
            spacing="3",
            width="100%",
        ),
        active="member",
    )
