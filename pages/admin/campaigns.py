"""Campaigns (营销活动) for admins with CAMPAIGNS_MANAGE: the list with status, the
builder (name, audience, channels, content per channel and variant with "start
from a template", link, schedule now / at / recurring, throttle, daily cap, quiet
hours, A/B split, attribution window) and the controls (start, pause, resume,
stop) with the services' refusals shown (an empty audience, missing content).

The report of a campaign is ``pages.admin.campaign_report``. Every check lives in
prm_saas.campaigns.services; handlers are a public API and only turn form
fields into service calls.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from components.admin_ui import confirm_action, list_or_empty, page_header
from components.app_state import AppState
from components.forms import FormMixin, client_id, field, form_error, form_str
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.audiences import services as audiences
from prm_saas.campaigns import services as campaigns
from prm_saas.display import local_time
from prm_saas.messaging.templates import list_templates
from tenants.errors import DomainError, FieldErrors

CHANNELS = ["email", "sms", "inapp"]
VARIANTS = ["A", "B"]
STATUSES = ["draft", "scheduled", "running", "paused", "stopped", "done"]
MODES = ["now", "at", "recurring"]
RECURRENCES = ["daily", "weekly", "monthly"]
WITH_SUBJECT = {"email", "inapp"}
_SETTINGS = (
    "name",
    "audience_id",
    "link",
    "send_at",
    "recurrence",
    "weekday",
    "month_day",
    "at_time",
    "per_minute",
    "daily_cap",
    "quiet_start",
    "quiet_end",
    "ab_split",
    "attribution_days",
)


def slot(variant: str, channel: str) -> str:
    """The editor of one variant's wording on one channel."""
    return f"{variant}_{channel}"


def _content_slots() -> list[str]:
    return [slot(v, ch) for v in VARIANTS for ch in CHANNELS]


def _blank_content() -> dict[str, str]:
    out: dict[str, str] = {}
    for s in _content_slots():
        out[f"{s}_subject"] = ""
        out[f"{s}_body"] = ""
    return out


class CampaignsState(FormMixin, AppState):
    """The campaign list, the builder and the controls."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    audience_options: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    templates: dict[str, list[dict[str, str]]] = {}  # noqa: RUF012 - Reflex state var
    # the builder
    editing: bool = False
    edit_id: str = ""
    status: str = ""
    next_run: str = ""
    cf: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    form_key: int = 0
    mode: str = "now"
    chans: list[str] = []  # noqa: RUF012 - Reflex state var
    ab_on: bool = False
    content: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    _template_text: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - server side

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        tz = self._tz()

        def read(session: Any, actor: Any) -> list[dict[str, str]]:
            names = {
                int(a.id or 0): a.name
                for a in audiences.list_audiences(session=session, actor=actor)
            }
            self.audience_options = [{"id": str(i), "name": n} for i, n in names.items()]
            return [
                {
                    "id": str(c.id),
                    "name": c.name,
                    "audience": names.get(c.audience_id, ""),
                    "channels": " · ".join(self._channel_names(c.channels)),
                    "mode": str(c.mode),
                    "status": str(c.status),
                    "next_run": local_time(c.next_run_at, tz),
                    "created": local_time(c.created_at, tz),
                }
                for c in campaigns.list_campaigns(session=session, actor=actor)
            ]

        result, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if result is not None:
            self.rows = result
        return ev

    def _channel_names(self, stored: str) -> list[str]:
        try:
            chans = json.loads(stored or "[]")
        except ValueError:
            chans = []
        return [self.tr(f"channel.{c}") for c in chans if c in CHANNELS]

    def _load_templates(self) -> None:
        """Tenant templates to start from (admins with the templates permission)."""

        def read(session: Any, actor: Any) -> list[Any]:
            try:
                return list_templates(session=session, actor=actor)
            except DomainError:  # no permission for templates: start from scratch
                return []

        views, _ev = self._run(PrincipalKind.STAFF, read, lambda _m, _f: None)
        by_channel: dict[str, list[dict[str, str]]] = {ch: [] for ch in CHANNELS}
        texts: dict[str, tuple[str, str]] = {}
        for i, v in enumerate(views or []):
            if v.channel not in by_channel:
                continue
            tid = str(i)
            texts[tid] = (v.subject, v.body)
            by_channel[v.channel].append({"id": tid, "label": f"{v.key} ({v.locale})"})
        self.templates = by_channel
        self._template_text = texts

    @rx.event
    def load(self) -> Any:
        """Admins with CAMPAIGNS_MANAGE only; others get the 404 page."""
        self._clear()
        self._reset_builder()
        redirect = self._load(PrincipalKind.STAFF, Permission.CAMPAIGNS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        ev = self._refresh()
        wanted = client_id(self.router.url.query_parameters.get("campaign", ""))
        if wanted is not None and ev is None:
            return self._open(wanted)
        return ev

    # --- the builder ----------------------------------------------------------------------

    def _reset_builder(self) -> None:
        self.editing = False
        self.edit_id = self.status = self.next_run = ""
        self.cf = {}
        self.mode = "now"
        self.chans = []
        self.ab_on = False
        self.content = _blank_content()

    @rx.event
    def new_campaign(self) -> None:
        """An empty builder with the service's defaults."""
        self._clear()
        self._reset_builder()
        d = campaigns.CampaignInput(name="", audience_id="", channels=[])
        self.cf = {k: str(getattr(d, k)) for k in _SETTINGS}
        self.cf["audience_id"] = ""
        self.chans = ["inapp"]
        self.form_key += 1
        self._load_templates()
        self.editing = True

    def _open(self, campaign_id: int) -> Any:
        found, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: campaigns.get_campaign(session=s, actor=p, campaign_id=campaign_id),
            self._fail,
        )
        if found is None:
            return ev
        self._reset_builder()
        f = found.form
        self.cf = {k: str(getattr(f, k)) for k in _SETTINGS}
        self.mode = str(f.mode)
        self.chans = [c for c in f.channels if c in CHANNELS]
        content = _blank_content()
        for row in found.contents:
            s = slot(row.variant, row.channel)
            if f"{s}_body" in content:
                content[f"{s}_subject"], content[f"{s}_body"] = row.subject, row.body
        self.content = content
        self.ab_on = any(r.variant == "B" for r in found.contents)
        self.edit_id = str(found.campaign.id)
        self.status = str(found.campaign.status)
        self.next_run = found.next_run_local
        self.form_key += 1
        self._load_templates()
        self.editing = True
        return ev

    @rx.event
    def open_campaign(self, campaign_id: str) -> Any:
        """Open a campaign in the builder."""
        self._clear()
        cid = client_id(campaign_id)
        return None if cid is None else self._open(cid)

    @rx.event
    def close_builder(self) -> None:
        """Back to the list (unsaved changes are dropped)."""
        self._clear()
        self._reset_builder()

    @rx.event
    def set_mode(self, value: str) -> None:
        """Now, at a time, or recurring."""
        self.mode = value if value in MODES else "now"

    @rx.event
    def toggle_channel(self, channel: str, checked: bool) -> None:
        """Use a channel or not."""
        if channel not in CHANNELS:
            return
        rest = [c for c in self.chans if c != channel]
        self.chans = [c for c in CHANNELS if c in rest or (c == channel and checked is True)]

    @rx.event
    def set_ab(self, value: bool) -> None:
        """Write a variant B or not."""
        self.ab_on = value is True

    @rx.event
    def set_content_text(self, name: str, value: str) -> None:
        """A subject or body as typed."""
        if name in self.content and isinstance(value, str):
            self.content = {**self.content, name: value[:10_000]}

    @rx.event
    def use_template(self, slot_name: str, template_id: str) -> None:
        """Copy a template's wording into one editor ("start from a template")."""
        text = self._template_text.get(template_id if isinstance(template_id, str) else "")
        if text is None or f"{slot_name}_body" not in self.content:
            return
        subject, body = text
        self.content = {**self.content, f"{slot_name}_subject": subject, f"{slot_name}_body": body}

    @rx.event
    def save(self, form: dict[str, Any]) -> Any:
        """Save the settings and every written content in one go (all or nothing)."""
        self._clear()
        defaults = campaigns.CampaignInput(name="", audience_id="", channels=[])
        given = form if isinstance(form, dict) else {}
        # A field the form does not show (the schedule of another mode, the split
        # without a B) keeps the service's default; a shown one is sent as typed.
        v = {k: form_str(given, k) if k in given else str(getattr(defaults, k)) for k in _SETTINGS}
        chans, ab_on, content = list(self.chans), self.ab_on, dict(self.content)
        data = campaigns.CampaignInput(
            name=v["name"],
            audience_id=v["audience_id"],
            channels=chans,
            link=v["link"],
            mode=self.mode,
            send_at=v["send_at"],
            recurrence=v["recurrence"],
            weekday=v["weekday"],
            month_day=v["month_day"],
            at_time=v["at_time"],
            per_minute=v["per_minute"],
            daily_cap=v["daily_cap"],
            quiet_start=v["quiet_start"],
            quiet_end=v["quiet_end"],
            ab_split=v["ab_split"],
            attribution_days=v["attribution_days"],
        )
        cid = client_id(self.edit_id)

        def save(session: Any, actor: Any) -> int:
            if cid is None:
                c = campaigns.create_campaign(session=session, actor=actor, data=data)
            else:
                c = campaigns.update_campaign(
                    session=session, actor=actor, campaign_id=cid, data=data
                )
            new_id = int(c.id or 0)
            for variant in VARIANTS if ab_on else ["A"]:
                for ch in chans:
                    s = slot(variant, ch)
                    subject, body = content[f"{s}_subject"], content[f"{s}_body"]
                    if not subject.strip() and not body.strip():
                        continue  # not written yet: starting says which is missing
                    try:
                        campaigns.set_content(
                            session=session,
                            actor=actor,
                            campaign_id=new_id,
                            variant=variant,
                            channel=ch,
                            subject=subject if ch in WITH_SUBJECT else "",
                            body=body,
                        )
                    except FieldErrors as exc:  # name the editor the error belongs to
                        raise FieldErrors({f"{s}_{f}": e for f, e in exc.errors.items()}) from None
            if not ab_on and cid is not None:
                campaigns.remove_variant_b(session=session, actor=actor, campaign_id=new_id)
            return new_id

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None or done is None:
            return ev
        self.notice = self.tr("common.saved")
        self._open(done)
        self.notice = self.tr("common.saved")
        return self._refresh()

    # --- controls -------------------------------------------------------------------------

    def _control(self, campaign_id: Any, fn: Any, notice_key: str) -> Any:
        self._clear()
        cid = client_id(campaign_id)
        if cid is None:
            return None
        done, ev = self._run(
            PrincipalKind.STAFF, lambda s, p: fn(session=s, actor=p, campaign_id=cid), self._fail
        )
        if ev is not None:
            return ev
        if done is not None:
            self.notice = self.tr(notice_key)
        if self.editing and self.edit_id == str(cid):
            error, notice = self.error, self.notice
            self._open(cid)
            self.error, self.notice = error, notice
        return self._refresh()

    @rx.event
    def start(self, campaign_id: str) -> Any:
        """Start a draft (refused: an empty audience, a channel without content)."""
        return self._control(campaign_id, campaigns.start_campaign, "mkt.camp.started")

    @rx.event
    def pause(self, campaign_id: str) -> Any:
        """Hold a sending campaign."""
        return self._control(campaign_id, campaigns.pause_campaign, "mkt.camp.paused")

    @rx.event
    def resume(self, campaign_id: str) -> Any:
        """Continue a paused campaign."""
        return self._control(campaign_id, campaigns.resume_campaign, "mkt.camp.resumed")

    @rx.event
    def stop(self, campaign_id: str) -> Any:
        """Stop for good."""
        return self._control(campaign_id, campaigns.stop_campaign, "mkt.camp.stopped")


# --- pieces -------------------------------------------------------------------------------


def status_badge(status: Any, **props: Any) -> rx.Component:
    """A campaign's status."""
    return rx.badge(
        t_var("mkt.camp.status", status, STATUSES),
        color_scheme=rx.match(
            status,
            ("running", "green"),
            ("scheduled", "blue"),
            ("paused", "amber"),
            ("draft", "gray"),
            ("done", "teal"),
            "red",
        ),
        variant="soft",
        **props,
    )


def _controls(cid: Any, status: Any, suffix: str = "") -> rx.Component:
    s = CampaignsState
    return rx.hstack(
        rx.cond(
            status == "draft",
            rx.button(
                rx.icon("send", size=14),
                t("mkt.camp.start"),
                size="1",
                color_scheme="green",
                on_click=s.start(cid),
                id="start-" + cid + suffix,
            ),
        ),
        rx.cond(
            status == "running",
            rx.button(
                t("mkt.camp.pause"),
                size="1",
                variant="soft",
                color_scheme="amber",
                on_click=s.pause(cid),
                id="pause-" + cid + suffix,
            ),
        ),
        rx.cond(
            status == "paused",
            rx.button(
                t("mkt.camp.resume"),
                size="1",
                variant="soft",
                color_scheme="green",
                on_click=s.resume(cid),
                id="resume-" + cid + suffix,
            ),
        ),
        rx.cond(
            (status == "running") | (status == "paused") | (status == "scheduled"),
            confirm_action(
                "mkt.camp.stop",
                "mkt.camp.stop_confirm",
                s.stop(cid),
                id="stop-" + cid + suffix,
                confirm_id="confirm-stop-" + cid + suffix,
            ),
        ),
        rx.cond(
            status != "draft",
            rx.link(
                rx.button(
                    rx.icon("chart-column", size=14),
                    t("mkt.camp.report"),
                    size="1",
                    variant="soft",
                ),
                href=AppState.base_path + "/admin/campaigns/" + cid + "/report",
                id="report-" + cid + suffix,
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = CampaignsState
    return rx.table.row(
        rx.table.cell(
            rx.link(
                r["name"],
                on_click=s.open_campaign(r["id"]),
                cursor="pointer",
                id="open-campaign-" + r["id"],
            )
        ),
        rx.table.cell(r["audience"]),
        rx.table.cell(r["channels"]),
        rx.table.cell(t_var("mkt.camp.mode", r["mode"], MODES)),
        rx.table.cell(status_badge(r["status"], id="status-" + r["id"])),
        rx.table.cell(r["next_run"]),
        rx.table.cell(_controls(r["id"], r["status"])),
        id="campaign-" + r["name"],
    )


_SELECT_STYLE = {
    "width": "100%",
    "padding": "8px",
    "borderRadius": "6px",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
}


def _label(key: str, html_for: str) -> rx.Component:
    return rx.el.label(t(key), html_for=html_for, style={"fontSize": "14px", "fontWeight": 500})


def _select(name: str, label_key: str, options: list[rx.Component], default: Any) -> rx.Component:
    s = CampaignsState
    err = s.field_errors[name]
    return rx.vstack(
        _label(label_key, f"f-{name}"),
        rx.el.select(
            *options, name=name, id=f"f-{name}", default_value=default, style=_SELECT_STYLE
        ),
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id=f"err-{name}")),
        spacing="1",
        width="100%",
        align="start",
    )


def _editor(variant: str, channel: str) -> rx.Component:
    s = CampaignsState
    name = slot(variant, channel)
    subject_key, body_key = f"{name}_subject", f"{name}_body"

    def err(key: str) -> rx.Component:
        return rx.cond(
            s.field_errors[key],
            rx.text(s.field_errors[key], size="1", color_scheme="red", id=f"err-{key}"),
        )

    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(variant, color_scheme="violet"),
                rx.text(t(f"channel.{channel}"), weight="medium"),
                rx.spacer(),
                rx.el.select(
                    rx.el.option(t("mkt.camp.from_template"), value=""),
                    rx.foreach(
                        s.templates[channel],
                        lambda x: rx.el.option(x["label"], value=x["id"]),
                    ),
                    value="",
                    on_change=lambda v: s.use_template(name, v),
                    id=f"tpl-{name}",
                    name=f"tpl-{name}",
                    style={"padding": "4px", "borderRadius": "6px", "maxWidth": "260px"},
                ),
                width="100%",
                align="center",
            ),
            (
                rx.vstack(
                    rx.text(t("mkt.camp.subject"), size="1", color_scheme="gray"),
                    rx.input(
                        value=s.content[subject_key],
                        on_change=lambda v: s.set_content_text(subject_key, v),
                        debounce_timeout=300,
                        id=f"f-{subject_key}",
                        name=f"c-{subject_key}",
                        width="100%",
                    ),
                    err(subject_key),
                    spacing="1",
                    width="100%",
                )
                if channel in WITH_SUBJECT
                else rx.fragment()
            ),
            rx.text(t("mkt.camp.body"), size="1", color_scheme="gray"),
            rx.text_area(
                value=s.content[body_key],
                on_change=lambda v: s.set_content_text(body_key, v),
                debounce_timeout=300,
                id=f"f-{body_key}",
                name=f"c-{body_key}",
                rows="4",
                width="100%",
            ),
            err(body_key),
            spacing="1",
            width="100%",
        ),
        width="100%",
        id=f"editor-{name}",
    )


def _contents() -> rx.Component:
    s = CampaignsState
    editors = []
    for variant in VARIANTS:
        for ch in CHANNELS:
            shown = s.chans.contains(ch)  # type: ignore[attr-defined]
            if variant == "B":
                shown = shown & s.ab_on
            editors.append(rx.cond(shown, _editor(variant, ch)))
    return rx.vstack(
        rx.hstack(
            rx.heading(t("mkt.camp.content"), size="3"),
            rx.text(t("mkt.camp.variables"), size="1", color_scheme="gray"),
            align="center",
            spacing="3",
        ),
        rx.grid(*editors, columns="2", spacing="3", width="100%"),
        spacing="2",
        width="100%",
    )


def _settings() -> rx.Component:
    s = CampaignsState
    c = s.cf
    chan_err = s.field_errors["channels"]
    return rx.vstack(
        rx.grid(
            field(s, "mkt.camp.name", "name", default_value=c["name"]),
            _select(
                "audience_id",
                "mkt.camp.audience",
                [
                    rx.el.option("—", value=""),
                    rx.foreach(
                        s.audience_options, lambda a: rx.el.option(a["name"], value=a["id"])
                    ),
                ],
                c["audience_id"],
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.vstack(
            _label("mkt.camp.channels", "f-channels"),
            rx.hstack(
                *[
                    rx.el.label(
                        rx.hstack(
                            rx.checkbox(
                                checked=s.chans.contains(ch),  # type: ignore[attr-defined]
                                on_change=lambda v, ch=ch: s.toggle_channel(ch, v),
                                id=f"chan-{ch}",
                                name=f"chan-{ch}",
                            ),
                            rx.text(t(f"channel.{ch}"), size="2"),
                            spacing="1",
                            align="center",
                        )
                    )
                    for ch in CHANNELS
                ],
                spacing="4",
            ),
            rx.cond(chan_err, rx.text(chan_err, size="1", color_scheme="red", id="err-channels")),
            spacing="1",
        ),
        field(s, "mkt.camp.link", "link", default_value=c["link"], placeholder="https://"),
        rx.heading(t("mkt.camp.schedule"), size="3"),
        rx.hstack(
            *[
                rx.button(
                    t(f"mkt.camp.mode.{m}"),
                    type="button",
                    size="1",
                    variant=rx.cond(s.mode == m, "solid", "outline"),
                    on_click=s.set_mode(m),
                    id=f"mode-{m}",
                )
                for m in MODES
            ],
            spacing="2",
        ),
        rx.cond(
            s.mode == "at",
            field(
                s,
                "mkt.camp.send_at",
                "send_at",
                default_value=c["send_at"],
                placeholder="2026-12-24 09:00",
            ),
        ),
        rx.cond(
            s.mode == "recurring",
            rx.grid(
                _select(
                    "recurrence",
                    "mkt.camp.recurrence",
                    [rx.el.option(t(f"mkt.camp.recurrence.{r}"), value=r) for r in RECURRENCES],
                    c["recurrence"],
                ),
                _select(
                    "weekday",
                    "mkt.camp.weekday",
                    [rx.el.option(t(f"mkt.camp.wd.{d}"), value=str(d)) for d in range(7)],
                    c["weekday"],
                ),
                field(s, "mkt.camp.month_day", "month_day", default_value=c["month_day"]),
                field(s, "mkt.camp.time_of_day", "at_time", default_value=c["at_time"]),
                columns="4",
                spacing="3",
                width="100%",
            ),
        ),
        rx.grid(
            field(s, "mkt.camp.per_minute", "per_minute", default_value=c["per_minute"]),
            field(s, "mkt.camp.daily_cap", "daily_cap", default_value=c["daily_cap"]),
            field(
                s,
                "mkt.camp.quiet_start",
                "quiet_start",
                default_value=c["quiet_start"],
                hint_key="mkt.camp.quiet_hint",
            ),
            field(s, "mkt.camp.quiet_end", "quiet_end", default_value=c["quiet_end"]),
            field(
                s,
                "mkt.camp.attribution_days",
                "attribution_days",
                default_value=c["attribution_days"],
            ),
            columns="5",
            spacing="3",
            width="100%",
        ),
        rx.hstack(
            rx.el.label(
                rx.hstack(
                    rx.checkbox(checked=s.ab_on, on_change=s.set_ab, id="ab-on", name="ab-on"),
                    rx.text(t("mkt.camp.ab_on"), size="2"),
                    spacing="1",
                    align="center",
                )
            ),
            rx.cond(
                s.ab_on,
                field(s, "mkt.camp.ab_split", "ab_split", default_value=c["ab_split"]),
            ),
            spacing="4",
            align="end",
        ),
        spacing="3",
        width="100%",
    )


def _builder() -> rx.Component:
    s = CampaignsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(
                    rx.cond(s.edit_id == "", t("mkt.camp.new"), t("mkt.camp.edit")), size="4"
                ),
                rx.cond(s.status != "", status_badge(s.status, id="builder-status")),
                rx.cond(
                    s.next_run != "",
                    rx.text(t("mkt.camp.next_run"), ": ", s.next_run, size="1", id="next-run"),
                ),
                rx.spacer(),
                rx.cond(s.edit_id != "", _controls(s.edit_id, s.status, "-detail")),
                rx.button(
                    t("mkt.camp.back"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.close_builder,
                    id="close-builder",
                ),
                width="100%",
                align="center",
            ),
            rx.form(
                rx.vstack(
                    _settings(),
                    _contents(),
                    rx.hstack(
                        rx.button(t("common.save"), type="submit", id="save-campaign"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=s.save,
                key=s.form_key,
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="campaign-builder",
    )


@page("/admin/campaigns", title="Campaigns", on_load=CampaignsState.load)
def campaigns_page() -> rx.Component:
    """The tenant's campaigns and the campaign builder."""
    s = CampaignsState
    return admin_layout(
        rx.vstack(
            page_header(
                "mkt.camp.title",
                action_key="mkt.camp.new",
                on_click=s.new_campaign,
                id="new-campaign",
            ),
            form_error(s),
            rx.cond(s.editing, _builder()),
            list_or_empty(
                s.rows,
                _row,
                [
                    "mkt.camp.name",
                    "mkt.camp.audience",
                    "mkt.camp.channels",
                    "mkt.camp.schedule",
                    "common.status",
                    "mkt.camp.next_run",
                    "common.actions",
                ],
                id="campaigns-table",
                empty_key="mkt.camp.empty",
                empty_id="campaigns-empty",
            ),
            spacing="4",
            width="100%",
        ),
        active="campaigns",
    )
