"""Messaging for tenant admins: the delivery log (with usage), the template
editor, and the channel / quiet-hours / cap settings. Three pages, three URLs:
/admin/messages, /admin/templates, /admin/messaging-settings."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_error, form_str
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time
from prm_saas.i18n import LOCALES, MESSAGES
from prm_saas.messaging.log import PAGE_SIZE, LogPage, list_messages, retry_message
from prm_saas.messaging.models import Channel, MessageStatus, MessagingSettingsView
from prm_saas.messaging.preferences import (
    MAX_DAILY_CAP,
    get_messaging_settings,
    sms_webhook_secret,
    update_messaging_settings,
    usage_report,
)
from prm_saas.messaging.templates import (
    Preview,
    TemplateView,
    list_templates,
    preview_template,
    reset_template,
    save_template,
)
from tenants.db import TenantSession
from tenants.errors import FieldErrors

CHANNELS = [str(c) for c in Channel]
STATUSES = [str(s) for s in MessageStatus]
# Suppression reasons the engine records; other reasons (provider errors) show as they are.
REASONS = ["channel_disabled", "blocked", "opted_out", "daily_cap"]
# Delivery receipts the SMS provider reports; others show as they are.
DELIVERY = ["delivered", "undelivered", "failed", "rejected", "expired", "accepted", "sent"]
STATUS_COLORS = (
    ("sent", "green"),
    ("failed", "red"),
    ("scheduled", "blue"),
    ("queued", "amber"),
    ("sending", "amber"),
)
# The editor's four inputs: (field, locale, part).
DRAFT_FIELDS = {
    "zh_subject": ("zh-CN", "subject"),
    "zh_body": ("zh-CN", "body"),
    "en_subject": ("en", "subject"),
    "en_body": ("en", "body"),
}
LOCALE_PREFIX = {"zh-CN": "zh", "en": "en"}


def catalog_names(key: str) -> tuple[str, str]:
    """A template's display name in (zh-CN, en): template keys are catalog entries."""
    return MESSAGES.get(key, (key, key))


def clamp(lines: int) -> dict[str, str]:
    """Style that cuts text to ``lines`` lines with an ellipsis (dense tables)."""
    return {
        "display": "-webkit-box",
        "WebkitLineClamp": str(lines),
        "WebkitBoxOrient": "vertical",
        "overflow": "hidden",
        "wordBreak": "break-all" if lines == 1 else "normal",
    }


def _is_on(form: dict[str, Any], name: str) -> bool:
    return isinstance(form, dict) and form.get(name) in ("on", True, "true")


def channel_badge(channel: Any) -> rx.Component:
    """A channel as a small icon + name."""
    return rx.badge(
        rx.match(
            channel,
            ("email", rx.icon("mail", size=12)),
            ("sms", rx.icon("smartphone", size=12)),
            rx.icon("inbox", size=12),
        ),
        t_var("channel", channel, CHANNELS),
        variant="surface",
        color_scheme="gray",
    )


def section(title: str, *children: rx.Component, icon: str = "") -> rx.Component:
    """A titled card."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=AppState.tenant_color) if icon else rx.fragment(),
                rx.heading(t(title), size="3"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


# --- /admin/messages: the delivery log -------------------------------------------------------


class MessageLogState(FormMixin, AppState):
    """A filtered, paged page of the outbox and the monthly usage counters."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    total: int = 0
    page_no: int = 0
    status_filter: str = ""
    channel_filter: str = ""
    query: str = ""
    usage: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    filter_key: int = 0  # re-mounts the filter form when the filters are cleared

    def _fetch(self) -> Any:
        tz = self._tenant().timezone
        status, channel, query, page_no = (
            self.status_filter,
            self.channel_filter,
            self.query,
            self.page_no,
        )
        result, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: (
                list_messages(
                    session=s, actor=p, status=status, channel=channel, query=query, page=page_no
                ),
                usage_report(session=s, actor=p),
            ),
            self._fail,
        )
        if result is None:
            return ev
        log, usage = result
        assert isinstance(log, LogPage)
        self.total = log.total
        rows = []
        for r in log.rows:
            zh, en = catalog_names(r.template_key)
            rows.append(
                {
                    "id": str(r.id),
                    "at": local_time(r.created_at, tz),
                    "due": local_time(r.due_at, tz),
                    "sent": local_time(r.sent_at, tz),
                    "patient": r.patient_name,
                    "to": r.to_address if r.channel != Channel.INAPP else "",
                    "channel": r.channel,
                    "category": r.category,
                    "template": r.template_key,
                    "name_zh": zh,
                    "name_en": en,
                    "status": r.status,
                    "delivery": r.delivery_status,
                    "attempts": str(r.attempts),
                    "reason": r.reason,
                    "subject": r.subject,
                }
            )
        self.rows = rows
        months: dict[str, dict[str, int]] = {}
        for u in usage:
            months.setdefault(u.month, {})[u.channel] = u.count
        self.usage = [
            {
                "month": m,
                **{c: str(counts.get(c, 0)) for c in CHANNELS},
                "total": str(sum(counts.values())),
            }
            for m, counts in sorted(months.items(), reverse=True)[:12]
        ]
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins only."""
        self._clear()
        self.page_no, self.status_filter, self.channel_filter, self.query = 0, "", "", ""
        self.filter_key += 1
        redirect = self._load(PrincipalKind.STAFF, Permission.SETTINGS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._fetch()

    @rx.event
    def filter(self, form: dict[str, Any]) -> Any:
        """Apply the status, channel and text filters."""
        self._clear()
        status, channel = form_str(form, "status"), form_str(form, "channel")
        self.status_filter = status if status in STATUSES else ""
        self.channel_filter = channel if channel in CHANNELS else ""
        self.query = form_str(form, "q").strip()[:100]
        self.page_no = 0
        return self._fetch()

    @rx.event
    def clear_filters(self) -> Any:
        """Show every message again."""
        self._clear()
        self.status_filter, self.channel_filter, self.query, self.page_no = "", "", "", 0
        self.filter_key += 1
        return self._fetch()

    @rx.event
    def next_page(self) -> Any:
        """Older messages."""
        if (self.page_no + 1) * PAGE_SIZE < self.total:
            self.page_no += 1
        return self._fetch()

    @rx.event
    def prev_page(self) -> Any:
        """Newer messages."""
        self.page_no = max(0, self.page_no - 1)
        return self._fetch()

    @rx.event
    def retry(self, message_id: int) -> Any:
        """Send a failed message again."""
        ip, _ua = self._client()
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: retry_message(session=s, actor=p, message_id=message_id, ip=ip),
            "msglog.retried",
            self._fetch,
        )


def _log_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = MessageLogState
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(r["at"], size="1"),
                rx.cond(
                    r["status"] == "scheduled",
                    rx.text(t("msglog.due"), " ", r["due"], size="1", color_scheme="gray"),
                ),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(rx.cond(r["patient"] != "", r["patient"], "—"), size="2"),
                rx.text(r["to"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(channel_badge(r["channel"])),
        rx.table.cell(
            rx.vstack(
                rx.text(rx.cond(AppState.lang == "en", r["name_en"], r["name_zh"]), size="2"),
                rx.text(
                    r["subject"], size="1", color_scheme="gray", style=clamp(1), max_width="260px"
                ),
                spacing="0",
            ),
            title=r["template"],
        ),
        rx.table.cell(
            rx.badge(
                t_var("msgstatus", r["status"], STATUSES),
                color_scheme=rx.match(r["status"], *STATUS_COLORS, "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(
            rx.cond(
                r["delivery"] != "",
                rx.text(t_var("delivery", r["delivery"], DELIVERY), size="1"),
                rx.text("—", size="1", color_scheme="gray"),
            )
        ),
        rx.table.cell(r["attempts"], text_align="right"),
        rx.table.cell(
            rx.text(
                t_var("reason", r["reason"], REASONS),
                size="1",
                color_scheme=rx.cond(r["status"] == "failed", "red", "gray"),
                max_width="240px",
                style=clamp(2),
                title=r["reason"],
            )
        ),
        rx.table.cell(
            rx.cond(
                r["status"] == "failed",
                rx.button(
                    rx.icon("rotate-ccw", size=12),
                    t("msglog.retry"),
                    size="1",
                    variant="soft",
                    on_click=s.retry(r["id"].to(int)),
                    id="retry-" + r["id"],
                ),
            )
        ),
        id="msg-" + r["id"],
        data_status=r["status"],
    )


def _filter_select(name: str, label: str, prefix: str, values: list[str], current: Any) -> Any:
    return rx.el.select(
        rx.el.option(t(label), value=""),
        *[rx.el.option(t(f"{prefix}.{v}"), value=v) for v in values],
        name=name,
        id=f"filter-{name}",
        default_value=current,
        style={
            "padding": "5px 8px",
            "borderRadius": "6px",
            "border": f"1px solid {rx.color('gray', 7)}",
            "background": "var(--color-surface)",
            "fontSize": "14px",
        },
    )


def usage_table() -> rx.Component:
    """Messages sent per month and channel."""
    s = MessageLogState
    return section(
        "msglog.usage",
        rx.cond(
            s.usage.length() > 0,  # type: ignore[attr-defined]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("msglog.month")),
                        *[
                            rx.table.column_header_cell(t(f"channel.{c}"), text_align="right")
                            for c in CHANNELS
                        ],
                        rx.table.column_header_cell(t("msglog.total"), text_align="right"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        s.usage,
                        lambda u: rx.table.row(
                            rx.table.cell(u["month"]),
                            *[rx.table.cell(u[c], text_align="right") for c in CHANNELS],
                            rx.table.cell(rx.text(u["total"], weight="bold"), text_align="right"),
                            id="usage-" + u["month"],
                        ),
                    )
                ),
                size="1",
                width="100%",
                id="usage-table",
            ),
            rx.text(t("msglog.no_usage"), size="2", color_scheme="gray"),
        ),
        rx.text(t("msglog.usage_note"), size="1", color_scheme="gray"),
        icon="chart-column",
    )


@page("/admin/messages", title="Messages", on_load=MessageLogState.load)
def messages_page() -> rx.Component:
    """The delivery log."""
    s = MessageLogState
    pages = (s.total + PAGE_SIZE - 1) // PAGE_SIZE
    filters = rx.form(
        rx.hstack(
            _filter_select("status", "msglog.all_statuses", "msgstatus", STATUSES, s.status_filter),
            _filter_select("channel", "msglog.all_channels", "channel", CHANNELS, s.channel_filter),
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                name="q",
                placeholder=t("msglog.search"),
                default_value=s.query,
                width="280px",
                id="filter-q",
            ),
            rx.button(t("common.search"), type="submit", variant="soft", id="apply-filters"),
            rx.cond(
                (s.status_filter != "") | (s.channel_filter != "") | (s.query != ""),
                rx.button(
                    t("msglog.clear"),
                    type="button",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=s.clear_filters,
                    id="filter-clear",
                ),
            ),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        on_submit=s.filter,
        reset_on_submit=False,
        key=s.filter_key,
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(t("msglog.time")),
                rx.table.column_header_cell(t("msglog.recipient")),
                rx.table.column_header_cell(t("msglog.channel")),
                rx.table.column_header_cell(t("msglog.template")),
                rx.table.column_header_cell(t("common.status")),
                rx.table.column_header_cell(t("msglog.delivery")),
                rx.table.column_header_cell(t("msglog.attempts"), text_align="right"),
                rx.table.column_header_cell(t("msglog.reason")),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(s.rows, _log_row)),
        width="100%",
        size="1",
        variant="surface",
        id="message-log",
    )
    return admin_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("msglog.title"), size="6"),
                rx.badge(s.total, variant="soft", color_scheme="gray", id="log-total"),
                rx.spacer(),
                align="center",
                width="100%",
            ),
            rx.text(t("msglog.help"), size="2", color_scheme="gray"),
            form_error(s),
            filters,
            rx.cond(
                s.rows.length() > 0,  # type: ignore[attr-defined]
                table,
                rx.center(
                    rx.vstack(
                        rx.icon("inbox", size=32, color=rx.color("gray", 8)),
                        rx.text(t("msglog.empty"), color_scheme="gray"),
                        align="center",
                    ),
                    padding="48px",
                    width="100%",
                    border=f"1px dashed {rx.color('gray', 6)}",
                    border_radius="8px",
                ),
            ),
            rx.hstack(
                rx.button(
                    t("common.prev"),
                    on_click=s.prev_page,
                    variant="soft",
                    size="1",
                    disabled=s.page_no == 0,
                ),
                rx.text(s.page_no + 1, " / ", rx.cond(pages > 0, pages, 1), size="2"),
                rx.button(
                    t("common.next"),
                    on_click=s.next_page,
                    variant="soft",
                    size="1",
                    disabled=(s.page_no + 1) * PAGE_SIZE >= s.total,
                ),
                align="center",
            ),
            rx.box(usage_table(), max_width="560px", width="100%"),
            spacing="4",
            width="100%",
        ),
        active="messages",
    )


# --- /admin/templates: the template editor --------------------------------------------------


class TemplatesState(FormMixin, AppState):
    """Every template x channel x language, and the editor for one template's channel
    (both languages side by side, each with its live preview)."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    edit_open: bool = False
    edit_key: str = ""
    edit_channel: str = ""
    edit_name_zh: str = ""
    edit_name_en: str = ""
    edit_variables: list[str] = []  # noqa: RUF012 - Reflex state var
    zh_subject: str = ""
    zh_body: str = ""
    en_subject: str = ""
    en_body: str = ""
    previews: dict[str, str] = {}  # noqa: RUF012 - Reflex state var ("zh_subject" -> text)
    _saved: dict[str, str] = {}  # noqa: RUF012 - the wording as stored, to save only changes

    def _fetch(self) -> Any:
        views, ev = self._run(
            PrincipalKind.STAFF, lambda s, p: list_templates(session=s, actor=p), self._fail
        )
        if views is not None:
            rows, prev = [], ("", "")
            for v in views:  # ordered by template, channel, language: shown as groups
                row = self._row(v)
                row["first_key"] = "1" if v.key != prev[0] else ""
                row["first_channel"] = "1" if (v.key, v.channel) != prev else ""
                prev = (v.key, v.channel)
                rows.append(row)
            self.rows = rows
        return ev

    @staticmethod
    def _row(v: TemplateView) -> dict[str, str]:
        zh, en = catalog_names(v.key)
        return {
            "id": f"{v.key}-{v.channel}-{v.locale}",
            "key": v.key,
            "name_zh": zh,
            "name_en": en,
            "category": v.category,
            "channel": v.channel,
            "locale": v.locale,
            "subject": v.subject,
            "body": v.body,
            "customized": "1" if v.customized else "",
        }

    @rx.event
    def load(self) -> Any:
        """Admins only."""
        self._clear()
        self.edit_open = False
        redirect = self._load(PrincipalKind.STAFF, Permission.SETTINGS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._fetch()

    @rx.event
    def open_editor(self, key: str, channel: str) -> Any:
        """Edit one template's wording on one channel, in both languages."""
        self._clear()
        views, ev = self._run(
            PrincipalKind.STAFF, lambda s, p: list_templates(session=s, actor=p), self._fail
        )
        if ev is not None or views is None:
            return ev
        mine = {v.locale: v for v in views if v.key == key and v.channel == channel}
        if not mine:
            self.error = self.tr("error.not_found")
            return None
        self.edit_key, self.edit_channel = key, channel
        self.edit_name_zh, self.edit_name_en = catalog_names(key)
        self.edit_variables = next(iter(mine.values())).variables
        saved: dict[str, str] = {}
        for loc in LOCALES:
            v = mine.get(loc)
            p = LOCALE_PREFIX[loc]
            saved[f"{p}_subject"] = v.subject if v else ""
            saved[f"{p}_body"] = v.body if v else ""
        self._saved = saved
        for name, value in saved.items():
            setattr(self, name, value)
        self.previews = dict.fromkeys(DRAFT_FIELDS, "")
        self.edit_open = True
        self._preview(list(LOCALES))
        return None

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        """Close (or open) the editor."""
        self.edit_open = bool(value)
        if not self.edit_open:
            self._clear()

    @rx.event
    def edit(self, name: str, value: str) -> None:
        """A field of the editor changed: keep it and preview that language again."""
        if name not in DRAFT_FIELDS or not isinstance(value, str):
            return
        setattr(self, name, value[:10_000])
        self.notice = ""
        self._preview([DRAFT_FIELDS[name][0]])

    def _draft(self, locale: str) -> tuple[str, str]:
        p = LOCALE_PREFIX[locale]
        return getattr(self, f"{p}_subject"), getattr(self, f"{p}_body")

    def _preview(self, locales: list[str]) -> None:
        """Render the unsaved wording of ``locales`` with sample values; a wording
        the engine would refuse shows its error under the field instead."""
        key, channel, tenant_name = self.edit_key, self.edit_channel, self.tenant_name
        drafts = {loc: self._draft(loc) for loc in locales}

        def render_all(s: Any, p: Any) -> dict[str, Preview | FieldErrors]:
            out: dict[str, Preview | FieldErrors] = {}
            for loc, (subject, body) in drafts.items():
                try:
                    out[loc] = preview_template(
                        session=s,
                        actor=p,
                        key=key,
                        channel=channel,
                        subject=subject,
                        body=body,
                        tenant_name=tenant_name,
                    )
                except FieldErrors as exc:
                    out[loc] = exc
            return out

        results, _ev = self._run(PrincipalKind.STAFF, render_all, self._fail)
        if results is None:
            return
        previews = dict(self.previews)
        errors = dict(self.field_errors)
        for loc, res in results.items():
            p = LOCALE_PREFIX[loc]
            for part in ("subject", "body"):
                errors.pop(f"{p}_{part}", None)
                previews[f"{p}_{part}"] = ""
            if isinstance(res, Preview):
                previews[f"{p}_subject"], previews[f"{p}_body"] = res.subject, res.body
            else:
                for f, (k, params) in res.errors.items():
                    errors[f"{p}_{f}"] = self.tr(k, **params)
        self.previews, self.field_errors = previews, errors
        if not errors:
            self.error = ""

    @rx.event
    def save(self) -> Any:
        """Store the languages whose wording changed (both or neither)."""
        self._clear()
        key, channel = self.edit_key, self.edit_channel
        changed = {
            loc: self._draft(loc)
            for loc in LOCALES
            if self._draft(loc)
            != (
                self._saved.get(f"{LOCALE_PREFIX[loc]}_subject", ""),
                self._saved.get(f"{LOCALE_PREFIX[loc]}_body", ""),
            )
        }
        if not changed:
            self.edit_open = False
            self.notice = self.tr("tpl.unchanged")
            return None
        ip, _ua = self._client()

        def save_all(s: Any, p: Any) -> int:
            errors: dict[str, tuple[str, dict[str, Any]]] = {}
            for loc, (subject, body) in changed.items():
                try:
                    save_template(
                        session=s,
                        actor=p,
                        key=key,
                        channel=channel,
                        locale=loc,
                        subject=subject,
                        body=body,
                        ip=ip,
                    )
                except FieldErrors as exc:
                    errors |= {f"{LOCALE_PREFIX[loc]}_{f}": e for f, e in exc.errors.items()}
            if errors:
                raise FieldErrors(errors)  # rolls back the other language too
            return len(changed)

        done, ev = self._run(PrincipalKind.STAFF, save_all, self._fail)
        if ev is not None:
            return ev
        if done:
            self.edit_open = False
            self.notice = self.tr("tpl.saved")
            return self._fetch()
        return None

    @rx.event
    def reset_wording(self, key: str, channel: str, locale: str) -> Any:
        """Go back to the built-in wording of one language."""
        ip, _ua = self._client()
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: reset_template(
                session=s, actor=p, key=key, channel=channel, locale=locale, ip=ip
            ),
            "tpl.reset_done",
            self._fetch,
        )


def _template_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = TemplatesState
    name = rx.vstack(
        rx.text(
            rx.cond(AppState.lang == "en", r["name_en"], r["name_zh"]),
            size="2",
            weight="medium",
        ),
        rx.hstack(
            rx.code(r["key"], size="1", variant="ghost", color_scheme="gray"),
            rx.cond(
                r["category"] == "marketing",
                rx.badge(t("tpl.marketing"), color_scheme="orange", size="1"),
            ),
            spacing="2",
            align="center",
        ),
        spacing="0",
    )
    return rx.table.row(
        rx.table.cell(rx.cond(r["first_key"] == "1", name)),
        rx.table.cell(rx.cond(r["first_channel"] == "1", channel_badge(r["channel"]))),
        rx.table.cell(
            rx.badge(
                rx.cond(r["locale"] == "en", "EN", "中"),
                variant="soft",
                color_scheme="gray",
                size="1",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.cond(
                    r["subject"] != "",
                    rx.text(
                        r["subject"], size="2", weight="medium", style=clamp(1), max_width="460px"
                    ),
                ),
                rx.text(
                    r["body"], size="1", color_scheme="gray", style=clamp(2), max_width="460px"
                ),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.cond(
                r["customized"] == "1",
                rx.badge(t("tpl.customized"), color_scheme="teal", variant="soft"),
                rx.badge(t("tpl.default"), color_scheme="gray", variant="outline"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    r["first_channel"] == "1",
                    rx.button(
                        rx.icon("pencil", size=12),
                        t("tpl.edit"),
                        size="1",
                        variant="soft",
                        on_click=s.open_editor(r["key"], r["channel"]),
                        id="edit-" + r["key"] + "-" + r["channel"],
                    ),
                ),
                rx.cond(
                    r["customized"] == "1",
                    rx.button(
                        rx.icon("rotate-ccw", size=12),
                        t("tpl.reset"),
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=s.reset_wording(r["key"], r["channel"], r["locale"]),
                        id="reset-" + r["id"],
                    ),
                ),
                spacing="2",
            )
        ),
        id="tpl-" + r["id"],
        style={
            "borderTop": rx.cond(r["first_key"] == "1", f"2px solid {rx.color('gray', 6)}", "none")
        },
    )


def _editor_column(locale: str, title: str) -> rx.Component:
    """One language of the editor: its inputs, then its rendered preview."""
    s = TemplatesState
    p = LOCALE_PREFIX[locale]
    subject_name, body_name = f"{p}_subject", f"{p}_body"
    body_var = getattr(s, body_name)

    def err(name: str) -> rx.Component:
        return rx.cond(
            s.field_errors[name],
            rx.text(s.field_errors[name], size="1", color_scheme="red", id=f"err-{name}"),
        )

    label_style = {"fontSize": "13px", "fontWeight": 500}
    inputs = rx.vstack(
        rx.cond(
            s.edit_channel != "sms",
            rx.vstack(
                rx.el.label(t("tpl.subject"), html_for=f"tpl-{subject_name}", style=label_style),
                rx.input(
                    value=getattr(s, subject_name),
                    on_change=lambda v: s.edit(subject_name, v),
                    debounce_timeout=400,
                    id=f"tpl-{subject_name}",
                    width="100%",
                ),
                err(subject_name),
                spacing="1",
                width="100%",
            ),
        ),
        rx.el.label(t("tpl.body"), html_for=f"tpl-{body_name}", style=label_style),
        rx.text_area(
            value=body_var,
            on_change=lambda v: s.edit(body_name, v),
            debounce_timeout=400,
            id=f"tpl-{body_name}",
            rows=rx.cond(s.edit_channel == "email", "8", "4"),
            width="100%",
            resize="vertical",
        ),
        rx.hstack(
            err(body_name),
            rx.spacer(),
            rx.text(
                body_var.length(),
                rx.match(s.edit_channel, ("sms", " / 500"), ("inapp", " / 2000"), " / 8000"),
                size="1",
                color_scheme="gray",
                white_space="nowrap",
            ),
            align="start",
            width="100%",
        ),
        spacing="1",
        width="100%",
    )
    preview = rx.box(
        rx.hstack(
            rx.icon("eye", size=14),
            rx.text(t("tpl.preview"), size="1", weight="medium"),
            color=rx.color("gray", 11),
            align="center",
            spacing="1",
        ),
        rx.cond(
            s.previews[body_name] != "",
            rx.vstack(
                rx.cond(
                    s.previews[subject_name] != "",
                    rx.text(
                        s.previews[subject_name], weight="bold", size="2", id=f"preview-{p}-subject"
                    ),
                ),
                rx.text(
                    s.previews[body_name],
                    size="2",
                    white_space="pre-wrap",
                    id=f"preview-{p}-body",
                ),
                spacing="1",
                margin_top="6px",
            ),
            rx.text(t("tpl.preview_blocked"), size="1", color_scheme="gray", margin_top="6px"),
        ),
        padding="10px 12px",
        border_radius="6px",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        min_height="96px",
    )
    return rx.vstack(
        rx.heading(title, size="2", color_scheme="gray"),
        inputs,
        preview,
        spacing="3",
        width="100%",
        align="start",
    )


def template_editor() -> rx.Component:
    """The editor dialog: both languages side by side with their previews."""
    s = TemplatesState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(AppState.lang == "en", s.edit_name_en, s.edit_name_zh),
                " · ",
                t_var("channel", s.edit_channel, CHANNELS),
            ),
            rx.dialog.description(t("tpl.editor_help"), size="2", color_scheme="gray"),
            rx.vstack(
                rx.hstack(
                    rx.text(t("tpl.variables"), size="1", color_scheme="gray"),
                    rx.foreach(
                        s.edit_variables,
                        lambda v: rx.code("{" + v + "}", size="1", variant="soft"),
                    ),
                    spacing="2",
                    wrap="wrap",
                    align="center",
                    id="tpl-variables",
                ),
                form_error(s, where="dialog"),
                rx.grid(
                    _editor_column("zh-CN", "中文"),
                    _editor_column("en", "English"),
                    columns="2",
                    spacing="5",
                    width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(
                        rx.button(
                            t("common.cancel"), variant="soft", color_scheme="gray", type="button"
                        )
                    ),
                    rx.button(t("common.save"), on_click=s.save, id="save-template", type="button"),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
                margin_top="12px",
            ),
            max_width="1040px",
        ),
        open=s.edit_open,
        on_open_change=s.set_edit_open,
    )


@page("/admin/templates", title="Templates", on_load=TemplatesState.load)
def templates_page() -> rx.Component:
    """Every template's wording per channel and language."""
    s = TemplatesState
    return admin_layout(
        rx.vstack(
            rx.heading(t("tpl.title"), size="6"),
            rx.text(t("tpl.help"), size="2", color_scheme="gray"),
            form_error(s),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("msglog.template")),
                        rx.table.column_header_cell(t("msglog.channel")),
                        rx.table.column_header_cell(t("tpl.language")),
                        rx.table.column_header_cell(t("tpl.wording")),
                        rx.table.column_header_cell(t("common.status")),
                        rx.table.column_header_cell(t("common.actions")),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _template_row)),
                width="100%",
                size="1",
                variant="surface",
                id="template-table",
            ),
            template_editor(),
            spacing="4",
            width="100%",
        ),
        active="templates",
    )


# --- /admin/messaging-settings -------------------------------------------------------------


def _with_secret_flag(
    session: TenantSession, view: MessagingSettingsView
) -> tuple[MessagingSettingsView, bool]:
    """The view and whether a webhook secret is stored (the view has no flag for it).
    Only called after the settings service has checked the actor, in the same unit
    of work; the secret itself never leaves this function."""
    return view, bool(sms_webhook_secret(session))


class MessagingSettingsState(FormMixin, AppState):
    """Channels, quiet hours, the marketing cap and default consent."""

    email_enabled: bool = True
    email_from_name: str = ""
    sms_enabled: bool = False
    sms_provider_url: str = ""
    sms_sender: str = ""
    sms_has_api_key: bool = False
    sms_has_webhook_secret: bool = False
    quiet_start: str = ""
    quiet_end: str = ""
    daily_cap: str = ""
    marketing_default: bool = True
    form_key: int = 0  # bumps to re-mount the uncontrolled form with fresh defaults

    def _show(self, v: MessagingSettingsView, has_webhook_secret: bool) -> None:
        self.sms_has_webhook_secret = has_webhook_secret
        self.email_enabled, self.email_from_name = v.email_enabled, v.email_from_name
        self.sms_enabled, self.sms_provider_url = v.sms_enabled, v.sms_provider_url
        self.sms_sender, self.sms_has_api_key = v.sms_sender, v.sms_has_api_key
        self.quiet_start, self.quiet_end = v.quiet_start, v.quiet_end
        self.daily_cap, self.marketing_default = str(v.daily_cap), v.marketing_default
        self.form_key += 1

    @rx.event
    def load(self) -> Any:
        """Admins only."""
        self._clear()
        redirect = self._load(PrincipalKind.STAFF, Permission.SETTINGS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        result, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: _with_secret_flag(s, get_messaging_settings(session=s, actor=p)),
            self._fail,
        )
        if result is not None:
            self._show(*result)
        return ev

    @rx.event
    def save(self, form: dict[str, Any]) -> Any:
        """Store the settings; empty secret fields keep the stored secrets."""
        self._clear()
        ip, _ua = self._client()
        result, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: _with_secret_flag(
                s,
                update_messaging_settings(
                    session=s,
                    actor=p,
                    email_enabled=_is_on(form, "email_enabled"),
                    email_from_name=form_str(form, "email_from_name"),
                    sms_enabled=_is_on(form, "sms_enabled"),
                    sms_provider_url=form_str(form, "sms_provider_url"),
                    sms_sender=form_str(form, "sms_sender"),
                    sms_api_key=form_str(form, "sms_api_key"),
                    sms_webhook_secret=form_str(form, "sms_webhook_secret"),
                    quiet_start=form_str(form, "quiet_start"),
                    quiet_end=form_str(form, "quiet_end"),
                    daily_cap=form_str(form, "daily_cap"),
                    marketing_default=_is_on(form, "marketing_default"),
                    ip=ip,
                ),
            ),
            self._fail,
        )
        if result is not None:
            self._show(*result)
            self.notice = self.tr("common.saved")
        return ev


def _switch(name: str, label: str, hint: str, checked: Any) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.switch(name=name, default_checked=checked, id=f"f-{name}"),
            rx.vstack(
                rx.text(t(label), size="2", weight="medium"),
                rx.text(t(hint), size="1", color_scheme="gray"),
                spacing="0",
            ),
            spacing="3",
            align="start",
        ),
        style={"cursor": "pointer"},
    )


def _secret_field(name: str, label: str, saved: Any) -> rx.Component:
    s = MessagingSettingsState
    return rx.vstack(
        field(s, label, name, type="password", autocomplete="new-password"),
        rx.cond(
            s.field_errors[name],
            rx.fragment(),
            rx.text(
                rx.cond(saved, t("msgset.secret_saved"), t("msgset.secret_unset")),
                size="1",
                color_scheme="gray",
                id=f"hint-{name}",
            ),
        ),
        spacing="1",
        width="100%",
    )


@page("/admin/messaging-settings", title="Messaging", on_load=MessagingSettingsState.load)
def messaging_settings_page() -> rx.Component:
    """Channels, quiet hours and limits."""
    s = MessagingSettingsState
    email = section(
        "msgset.email",
        _switch(
            "email_enabled", "msgset.email_enabled", "msgset.email_enabled_hint", s.email_enabled
        ),
        field(
            s,
            "msgset.from_name",
            "email_from_name",
            default_value=s.email_from_name,
            hint_key="msgset.from_name_hint",
        ),
        icon="mail",
    )
    sms = section(
        "msgset.sms",
        _switch("sms_enabled", "msgset.sms_enabled", "msgset.sms_enabled_hint", s.sms_enabled),
        field(
            s,
            "msgset.provider_url",
            "sms_provider_url",
            default_value=s.sms_provider_url,
            placeholder="https://sms.example.com/send",
        ),
        field(
            s,
            "msgset.sender",
            "sms_sender",
            default_value=s.sms_sender,
            hint_key="msgset.sender_hint",
        ),
        rx.grid(
            _secret_field("sms_api_key", "msgset.api_key", s.sms_has_api_key),
            _secret_field("sms_webhook_secret", "msgset.webhook_secret", s.sms_has_webhook_secret),
            columns="2",
            spacing="3",
            width="100%",
        ),
        icon="smartphone",
    )
    quiet = section(
        "msgset.quiet",
        rx.text(t("msgset.quiet_help"), size="2", color_scheme="gray"),
        rx.grid(
            field(
                s,
                "msgset.quiet_start",
                "quiet_start",
                default_value=s.quiet_start,
                placeholder="21:00",
            ),
            field(
                s, "msgset.quiet_end", "quiet_end", default_value=s.quiet_end, placeholder="08:00"
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
        icon="moon",
    )
    marketing = section(
        "msgset.marketing",
        field(
            s,
            "msgset.daily_cap",
            "daily_cap",
            type="number",
            default_value=s.daily_cap,
            hint_key="msgset.daily_cap_hint",
        ),
        _switch(
            "marketing_default",
            "msgset.marketing_default",
            "msgset.marketing_default_hint",
            s.marketing_default,
        ),
        icon="megaphone",
    )
    return admin_layout(
        rx.vstack(
            rx.heading(t("msgset.title"), size="6"),
            rx.text(t("msgset.help", max=MAX_DAILY_CAP), size="2", color_scheme="gray"),
            form_error(s),
            rx.form(
                rx.vstack(
                    rx.grid(email, sms, quiet, marketing, columns="2", spacing="4", width="100%"),
                    rx.button(
                        rx.icon("save", size=14),
                        t("common.save"),
                        type="submit",
                        id="save-messaging",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=s.save,
                reset_on_submit=False,
                key=s.form_key,
                width="100%",
                max_width="1100px",
            ),
            spacing="4",
            width="100%",
        ),
        active="messaging_settings",
    )
