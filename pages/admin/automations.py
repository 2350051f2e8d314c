"""Automations (自动化旅程) for managers with CAMPAIGNS_MANAGE: the built-in journeys
to switch on, the list with enrollment counts, and the editor (trigger and its
parameters; steps added, removed and reordered: waits, messages with their
wording, branches on a tag expression or tag-rule conditions) with per-step
statistics.

Every value is re-checked by prm_saas.automations.services (handlers are a
public API); this page only turns the editor's rows into the service's input.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from components.admin_ui import data_table, list_or_empty, page_header
from components.app_state import AppState
from components.forms import FormMixin, client_id, form_error
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.automations import services as automations
from prm_saas.automations.models import Trigger
from prm_saas.display import local_time
from prm_saas.tags import services as tag_services

TRIGGERS = [x.value for x in Trigger]
STEP_KINDS = ["wait", "message", "branch"]
CHANNELS = ["inapp", "sms", "email"]
WHEN = ["continue", "exit"]
ENROLLMENT = ["active", "completed", "exited"]
REASONS = ["branch", "branch_invalid", "opted_out", "blocked", "no_address", "inactive", "error"]
# The parameter each trigger takes, if any (the editor shows one input for it).
PARAM_OF = {
    "tag_added": "tag_id",
    "days_after_checkup": "days",
    "points_expiring": "days_before",
    "no_visit": "days",
}
STEP_FIELDS = ("days", "hours", "channel", "subject", "body", "link", "expr", "conditions")


def _blank_step(kind: str) -> dict[str, str]:
    step = {k: "" for k in STEP_FIELDS}
    step.update(type=kind, when_match="continue", err="")
    if kind == "wait":
        step.update(days="1", hours="0")
    if kind == "message":
        step["channel"] = "inapp"
    return step


def _editor_row(step: dict[str, Any]) -> dict[str, str]:
    row = _blank_step(str(step.get("type", "")))
    for k in STEP_FIELDS:
        if k == "conditions":
            conds = step.get("conditions") or []
            row[k] = json.dumps(conds, ensure_ascii=False) if conds else ""
        elif k in step and step[k] is not None:
            row[k] = str(step[k])
    row["when_match"] = str(step.get("when_match") or "continue")
    return row


def _service_step(row: dict[str, str]) -> dict[str, Any]:
    kind = row.get("type", "")
    if kind == "wait":
        return {"type": kind, "days": row.get("days", ""), "hours": row.get("hours", "")}
    if kind == "message":
        return {
            "type": kind,
            "channel": row.get("channel", ""),
            "subject": row.get("subject", ""),
            "body": row.get("body", ""),
            "link": row.get("link", ""),
        }
    conditions: Any = []
    text = (row.get("conditions") or "").strip()
    if text:
        try:
            conditions = json.loads(text)
        except ValueError:
            conditions = text  # the service says it is not a list of conditions
    return {
        "type": kind,
        "expr": row.get("expr", ""),
        "conditions": conditions,
        "when_match": row.get("when_match", "continue"),
    }


class AutomationsState(FormMixin, AppState):
    """The list, the built-ins and the editor."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    builtins: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    tags: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # editor
    edit_open: bool = False
    edit_id: str = ""  # "" = a new automation
    name: str = ""
    trigger: str = "patient_joined"
    param: str = ""
    version: str = ""
    steps: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    stats: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    enrolled: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    @rx.var
    def param_name(self) -> str:
        """The trigger's parameter ("" if none)."""
        return PARAM_OF.get(self.trigger, "")

    def _refresh(self) -> Any:
        lang = self.lang

        def read(session: Any, actor: Any) -> bool:
            self.rows = [
                {
                    "id": str(r.id),
                    "name": r.name,
                    "trigger": r.trigger,
                    "param": _param_text(r.trigger_params),
                    "active": "1" if r.active else "",
                    "entered": str(r.entered),
                    "waiting": str(r.waiting),
                    "completed": str(r.completed),
                    "exited": str(r.exited),
                    "sent": str(r.sent),
                    "version": str(r.version),
                }
                for r in automations.list_automations(session=session, actor=actor)
            ]
            self.builtins = [
                {
                    "key": b.key,
                    "name": b.name,
                    "id": str(b.automation_id) if b.automation_id else "",
                    "active": "1" if b.active else "",
                }
                for b in automations.list_builtins(session=session, actor=actor, locale=lang)
            ]
            self.tags = [
                {"id": str(x.id), "name": x.name}
                for x in tag_services.list_tags(session=session, actor=actor)
            ]
            return True

        _done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        return ev

    @rx.event
    def load(self) -> Any:
        """Managers with CAMPAIGNS_MANAGE only; others get the 404 page."""
        self._clear()
        self.edit_open = False
        redirect = self._load(PrincipalKind.STAFF, Permission.CAMPAIGNS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    # --- list actions -------------------------------------------------------------------

    @rx.event
    def enable_builtin(self, key: str) -> Any:
        """Switch a built-in journey on (created with default wording the first time)."""
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: automations.enable_builtin(session=s, actor=p, key=str(key)),
            "automations.saved",
            self._refresh,
        )

    @rx.event
    def set_active(self, automation_id: str, active: bool) -> Any:
        """Switch an automation on or off."""
        aid = client_id(automation_id)
        if aid is None:
            return None
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: automations.set_active(
                session=s, actor=p, automation_id=aid, active=bool(active)
            ),
            "automations.saved",
            self._refresh,
        )

    # --- the editor ---------------------------------------------------------------------

    @rx.event
    def new_automation(self) -> None:
        """An empty editor: on joining, one in-app message."""
        self._clear()
        self.edit_id, self.name, self.trigger, self.param, self.version = "", "", "", "", ""
        self.trigger = "patient_joined"
        self.steps = [self._indexed(_blank_step("message"), 0)]
        self.stats, self.enrolled = [], []
        self.edit_open = True

    @rx.event
    def edit(self, automation_id: str) -> Any:
        """Open the editor on an automation, with its per-step statistics."""
        self._clear()
        aid = client_id(automation_id)
        if aid is None:
            return None

        def read(session: Any, actor: Any) -> bool:
            d = automations.get_automation(session=session, actor=actor, automation_id=aid)
            stats = automations.automation_stats(session=session, actor=actor, automation_id=aid)
            people = automations.list_enrollments(
                session=session, actor=actor, automation_id=aid, limit=20
            )
            tz = self._tenant().timezone
            self.enrolled = [
                {
                    "id": str(e.id),
                    "name": e.patient_name,
                    "status": e.status,
                    "step": str(e.step_index),
                    "version": str(e.version),
                    "next_at": local_time(e.next_at, tz) if e.status == "active" else "",
                    "reason": e.exit_reason,
                }
                for e in people
            ]
            self.edit_id, self.name, self.trigger = str(d.id), d.name, d.trigger
            pname = PARAM_OF.get(d.trigger, "")
            self.param = str(d.trigger_params.get(pname, "")) if pname else ""
            self.version = str(d.version)
            self.steps = [self._indexed(_editor_row(x), i) for i, x in enumerate(d.steps)]
            self.stats = [
                {
                    "index": str(x.index + 1),
                    "kind": x.kind,
                    "entered": str(x.entered),
                    "waiting": str(x.waiting),
                    "sent": str(x.sent),
                    "exited": str(x.exited),
                }
                for x in stats
            ]
            return True

        done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if done:
            self.edit_open = True
        return ev

    @rx.event
    def close_editor(self) -> None:
        """Back to the list."""
        self._clear()
        self.edit_open = False

    @staticmethod
    def _indexed(step: dict[str, str], i: int) -> dict[str, str]:
        return {**step, "idx": str(i)}

    def _reindex(self, steps: list[dict[str, str]]) -> None:
        self.steps = [self._indexed({**s, "err": ""}, i) for i, s in enumerate(steps)]

    @rx.event
    def set_name(self, value: str) -> None:
        """The name as typed."""
        self.name = str(value)[:200]

    @rx.event
    def set_trigger(self, value: str) -> None:
        """A trigger from the list (its parameter starts empty)."""
        if value in TRIGGERS and value != self.trigger:
            self.trigger, self.param = value, ""

    @rx.event
    def set_param(self, value: str) -> None:
        """The trigger's parameter as typed or picked."""
        self.param = str(value)[:20]

    @rx.event
    def add_step(self, kind: str) -> None:
        """Append a step of ``kind``."""
        if kind in STEP_KINDS and len(self.steps) < 50:
            self._reindex([*self.steps, _blank_step(kind)])

    @rx.event
    def remove_step(self, index: str) -> None:
        """Drop a step."""
        i = client_id(index)
        if i is not None and 0 <= i < len(self.steps):
            self._reindex(self.steps[:i] + self.steps[i + 1 :])

    @rx.event
    def move_step(self, index: str, delta: int) -> None:
        """Move a step up (-1) or down (+1)."""
        i = client_id(index)
        j = (i or 0) + (1 if delta == 1 else -1)
        if i is None or not (0 <= i < len(self.steps) and 0 <= j < len(self.steps)):
            return
        steps = list(self.steps)
        steps[i], steps[j] = steps[j], steps[i]
        self._reindex(steps)

    @rx.event
    def set_step_field(self, index: str, name: str, value: str) -> None:
        """One field of one step as typed."""
        i = client_id(index)
        if i is None or not 0 <= i < len(self.steps) or name not in (*STEP_FIELDS, "when_match"):
            return
        steps = list(self.steps)
        steps[i] = {**steps[i], name: str(value)[:8000]}
        self.steps = steps

    def _fail_steps(self, message: str, fields: dict[str, str]) -> None:
        self._fail(message, fields)
        steps = []
        for i, s in enumerate(self.steps):
            errs = [v for k, v in fields.items() if k.startswith(f"steps.{i}.")]
            steps.append({**s, "err": " ".join(errs)})
        self.steps = steps

    @rx.event
    def save(self) -> Any:
        """Create or change the automation (changed steps become a new version)."""
        self._clear()
        pname = PARAM_OF.get(self.trigger, "")
        data = automations.AutomationInput(
            name=self.name,
            trigger=self.trigger,
            trigger_params={pname: self.param} if pname else {},
            steps=[_service_step(s) for s in self.steps],
        )
        aid = client_id(self.edit_id)

        def save(session: Any, actor: Any) -> int:
            if aid is None:
                a = automations.create_automation(session=session, actor=actor, data=data)
            else:
                a = automations.update_automation(
                    session=session, actor=actor, automation_id=aid, data=data
                )
            return int(a.id or 0)

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail_steps)
        if ev is not None or done is None:
            return ev
        self._reindex(self.steps)
        self.edit_open = False
        self.notice = self.tr("automations.saved")
        return self._refresh()


def _param_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


# --- pieces -------------------------------------------------------------------------------


def _trigger_text(value: Any) -> rx.Component | rx.Var:
    return t_var("automations.trigger", value, TRIGGERS)


def _cell(*children: Any, **props: Any) -> rx.Component:
    return rx.table.cell(*children, **props)


def _builtin_card(b: Any) -> rx.Component:
    s = AutomationsState
    return rx.card(
        rx.hstack(
            rx.text(b["name"], weight="bold"),
            rx.spacer(),
            rx.cond(
                b["active"] == "1",
                rx.badge(t("automations.builtin.enabled"), color_scheme="green"),
                rx.button(
                    t("automations.builtin.enable"),
                    size="1",
                    on_click=s.enable_builtin(b["key"]),
                    id="enable-builtin-" + b["key"],
                ),
            ),
            align="center",
            width="100%",
        ),
        id="builtin-" + b["key"],
        min_width="240px",
    )


def _row(r: Any) -> rx.Component:
    s = AutomationsState
    return rx.table.row(
        _cell(rx.text(r["name"], weight="bold")),
        _cell(_trigger_text(r["trigger"]), " ", rx.text(r["param"], size="1", color_scheme="gray")),
        _cell(
            rx.cond(
                r["active"] == "1",
                rx.badge(t("automations.active"), color_scheme="green"),
                rx.badge(t("automations.inactive"), color_scheme="gray"),
            )
        ),
        _cell(r["entered"]),
        _cell(r["waiting"]),
        _cell(r["completed"]),
        _cell(r["exited"]),
        _cell(r["sent"]),
        _cell(
            rx.hstack(
                rx.button(
                    t("automations.edit"),
                    size="1",
                    variant="soft",
                    on_click=s.edit(r["id"]),
                    id="edit-automation-" + r["id"],
                ),
                rx.cond(
                    r["active"] == "1",
                    rx.button(
                        t("automations.deactivate"),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.set_active(r["id"], False),
                        id="deactivate-automation-" + r["id"],
                    ),
                    rx.button(
                        t("automations.activate"),
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=s.set_active(r["id"], True),
                        id="activate-automation-" + r["id"],
                    ),
                ),
            )
        ),
        id="automation-row-" + r["id"],
    )


def _list() -> rx.Component:
    s = AutomationsState
    headers = [
        "automations.col.name",
        "automations.col.trigger",
        "automations.col.status",
        "automations.col.entered",
        "automations.col.waiting",
        "automations.col.completed",
        "automations.col.exited",
        "automations.col.sent",
        "common.actions",
    ]
    return list_or_empty(
        s.rows,
        _row,
        headers,
        id="automations-table",
        empty_key="automations.empty",
        empty_id="automations-empty",
        size=None,  # the default row size, unlike the other admin lists
    )


def _input(step: Any, name: str, label_key: str, **props: Any) -> rx.Component:
    s = AutomationsState
    return rx.vstack(
        rx.text(t(label_key), size="1", color_scheme="gray"),
        rx.input(
            value=step[name],
            on_change=lambda v: s.set_step_field(step["idx"], name, v),
            id="step-" + name + "-" + step["idx"],
            **props,
        ),
        spacing="1",
    )


def _select(step: Any, name: str, label_key: str, options: list[tuple[str, Any]]) -> rx.Component:
    s = AutomationsState
    return rx.vstack(
        rx.text(t(label_key), size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(id="step-" + name + "-" + step["idx"]),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in options]),
            value=step[name],
            on_change=lambda v: s.set_step_field(step["idx"], name, v),
        ),
        spacing="1",
    )


def _step_body(step: Any) -> rx.Component:
    s = AutomationsState
    wait = rx.hstack(
        _input(step, "days", "automations.field.days", type="number", width="90px"),
        _input(step, "hours", "automations.field.hours", type="number", width="90px"),
        spacing="3",
    )
    message = rx.vstack(
        rx.hstack(
            _select(step, "channel", "automations.field.channel", [(c, c) for c in CHANNELS]),
            rx.cond(
                step["channel"] == "email",
                _input(step, "subject", "automations.field.subject", width="360px"),
            ),
            _input(step, "link", "automations.field.link", width="280px"),
            spacing="3",
            align="end",
        ),
        rx.text(t("automations.field.body"), size="1", color_scheme="gray"),
        rx.text_area(
            value=step["body"],
            on_change=lambda v: s.set_step_field(step["idx"], "body", v),
            id="step-body-" + step["idx"],
            width="100%",
            rows="3",
        ),
        spacing="1",
        width="100%",
    )
    branch = rx.vstack(
        rx.hstack(
            _input(step, "expr", "automations.field.expr", width="360px"),
            _select(
                step,
                "when_match",
                "automations.field.when_match",
                [(w, t(f"automations.when.{w}")) for w in WHEN],
            ),
            spacing="3",
            align="end",
        ),
        _input(step, "conditions", "automations.field.conditions", width="100%"),
        spacing="1",
        width="100%",
    )
    return rx.match(step["type"], ("wait", wait), ("message", message), branch)


def _step(step: Any) -> rx.Component:
    s = AutomationsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(step["idx"]),
                rx.text(t_var("automations.step", step["type"], STEP_KINDS), weight="bold"),
                rx.spacer(),
                rx.button(
                    t("automations.move_up"),
                    size="1",
                    variant="ghost",
                    on_click=s.move_step(step["idx"], -1),
                    id="step-up-" + step["idx"],
                ),
                rx.button(
                    t("automations.move_down"),
                    size="1",
                    variant="ghost",
                    on_click=s.move_step(step["idx"], 1),
                    id="step-down-" + step["idx"],
                ),
                rx.button(
                    t("automations.remove"),
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    on_click=s.remove_step(step["idx"]),
                    id="step-remove-" + step["idx"],
                ),
                width="100%",
                align="center",
            ),
            _step_body(step),
            rx.cond(
                step["err"] != "",
                rx.text(step["err"], size="1", color_scheme="red", id="step-err-" + step["idx"]),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="step-" + step["idx"],
    )


def _trigger_param() -> rx.Component:
    s = AutomationsState
    label = rx.match(
        s.param_name,
        ("tag_id", t("automations.field.tag")),
        ("days_before", t("automations.field.days_before")),
        t("automations.field.days"),
    )
    tag_select = rx.select.root(
        rx.select.trigger(placeholder="—", id="f-param-tag"),
        rx.select.content(rx.foreach(s.tags, lambda x: rx.select.item(x["name"], value=x["id"]))),
        value=s.param,
        on_change=s.set_param,
    )
    number = rx.input(
        value=s.param, on_change=s.set_param, type="number", id="f-param", width="120px"
    )
    return rx.cond(
        s.param_name != "",
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.cond(s.param_name == "tag_id", tag_select, number),
            rx.cond(
                s.field_errors.contains("trigger_params." + s.param_name),  # type: ignore[attr-defined]
                rx.text(
                    s.field_errors["trigger_params." + s.param_name],
                    size="1",
                    color_scheme="red",
                    id="err-param",
                ),
            ),
            spacing="1",
        ),
    )


def _titled_table(title_key: str, rows: Any, cols: list[str], row: Any, id: str) -> rx.Component:
    """A heading over a table of ``rows``; nothing at all while there are none."""
    return rx.cond(
        rows.length() > 0,
        rx.vstack(
            rx.heading(t(title_key), size="3"),
            data_table(cols, rx.foreach(rows, row), id, width=None),
            spacing="2",
            width="100%",
        ),
    )


def _stats() -> rx.Component:
    cols = [
        "automations.col.step",
        "automations.col.entered",
        "automations.col.waiting",
        "automations.col.sent",
        "automations.col.exited",
    ]
    return _titled_table(
        "automations.stats",
        AutomationsState.stats,
        cols,
        lambda x: rx.table.row(
            _cell(x["index"], " ", t_var("automations.step", x["kind"], STEP_KINDS)),
            _cell(x["entered"]),
            _cell(x["waiting"]),
            _cell(x["sent"]),
            _cell(x["exited"]),
        ),
        "stats-table",
    )


def _enrolled() -> rx.Component:
    cols = [
        "automations.col.patient",
        "automations.col.status",
        "automations.col.step",
        "automations.col.next_at",
        "automations.col.reason",
    ]
    return _titled_table(
        "automations.enrolled",
        AutomationsState.enrolled,
        cols,
        lambda x: rx.table.row(
            _cell(x["name"]),
            _cell(t_var("automations.enrollment", x["status"], ENROLLMENT)),
            _cell("v", x["version"], " · ", x["step"]),
            _cell(x["next_at"]),
            _cell(t_var("automations.reason", x["reason"], REASONS)),
        ),
        "enrolled-table",
    )


def _editor() -> rx.Component:
    s = AutomationsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(rx.cond(s.edit_id == "", t("automations.new"), s.name), size="4"),
                rx.cond(s.version != "", rx.badge("v", s.version)),
                rx.spacer(),
                rx.button(
                    t("automations.back"),
                    variant="soft",
                    size="1",
                    on_click=s.close_editor,
                    id="close-editor",
                ),
                width="100%",
                align="center",
            ),
            form_error(s, where="editor"),
            rx.hstack(
                rx.vstack(
                    rx.text(t("automations.field.name"), size="1", color_scheme="gray"),
                    rx.input(value=s.name, on_change=s.set_name, id="f-name", width="280px"),
                    rx.cond(
                        s.field_errors.contains("name"),  # type: ignore[attr-defined]
                        rx.text(
                            s.field_errors["name"], size="1", color_scheme="red", id="err-name"
                        ),
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    rx.text(t("automations.field.trigger"), size="1", color_scheme="gray"),
                    rx.select.root(
                        rx.select.trigger(id="f-trigger"),
                        rx.select.content(
                            *[
                                rx.select.item(t(f"automations.trigger.{x}"), value=x)
                                for x in TRIGGERS
                            ]
                        ),
                        value=s.trigger,
                        on_change=s.set_trigger,
                    ),
                    spacing="1",
                ),
                _trigger_param(),
                spacing="4",
                align="start",
                wrap="wrap",
            ),
            rx.heading(t("automations.steps"), size="3"),
            rx.text(t("automations.versions_hint"), size="1", color_scheme="gray"),
            rx.cond(
                s.field_errors.contains("steps"),  # type: ignore[attr-defined]
                rx.text(s.field_errors["steps"], size="1", color_scheme="red", id="err-steps"),
            ),
            rx.foreach(s.steps, _step),
            rx.hstack(
                rx.button(
                    t("automations.add_wait"),
                    variant="soft",
                    size="1",
                    on_click=s.add_step("wait"),
                    id="add-wait",
                ),
                rx.button(
                    t("automations.add_message"),
                    variant="soft",
                    size="1",
                    on_click=s.add_step("message"),
                    id="add-message",
                ),
                rx.button(
                    t("automations.add_branch"),
                    variant="soft",
                    size="1",
                    on_click=s.add_step("branch"),
                    id="add-branch",
                ),
                rx.spacer(),
                rx.button(t("automations.save"), on_click=s.save, id="save-automation"),
                width="100%",
            ),
            _stats(),
            _enrolled(),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="automation-editor",
    )


@page("/admin/automations", title="Automations", on_load=AutomationsState.load)
def automations_page() -> rx.Component:
    """The tenant's automations."""
    s = AutomationsState
    return admin_layout(
        rx.vstack(
            page_header(
                "automations.title",
                action_key="automations.new",
                on_click=s.new_automation,
                id="new-automation",
            ),
            rx.cond(
                s.edit_open,
                _editor(),
                rx.vstack(
                    form_error(s),
                    rx.heading(t("automations.builtins"), size="3"),
                    rx.hstack(rx.foreach(s.builtins, _builtin_card), spacing="3", wrap="wrap"),
                    _list(),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        active="automations",
    )
