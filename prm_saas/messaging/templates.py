"""Message templates: a registry of what the product sends, with built-in wording,
and each tenant's own wording per channel and language.

A capability registers its templates once (``register``), naming the variables
a template may use. Tenants edit the wording; a template using a variable the
spec does not know is refused on save, naming the variable. Rendering is
str.format with plain names only: no attribute or index access.
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.audit.services import record
from prm_saas.i18n import LOCALES
from prm_saas.messaging.models import Category, Channel, MessageTemplate
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.types import utcnow

SUBJECT_MAX = 300
BODY_MAX = {Channel.EMAIL: 8000, Channel.SMS: 500, Channel.INAPP: 2000}
# Every template may use these; the engine supplies them.
COMMON_VARIABLES = frozenset({"tenant_name", "patient_name"})


@dataclass(frozen=True)
class TemplateSpec:
    """What one kind of message is and may say."""

    key: str
    category: Category
    variables: frozenset[str]
    # (channel, locale) -> (subject, body)
    defaults: dict[tuple[Channel, str], tuple[str, str]] = field(default_factory=dict)
    sample: dict[str, str] = field(default_factory=dict)  # values for previews
    # Carries a secret (a reset code, an invitation link): once the message is
    # final, its variables and body are wiped from the outbox.
    redact: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        """Variables a tenant's wording may use."""
        return self.variables | COMMON_VARIABLES


_REGISTRY: dict[str, TemplateSpec] = {}
# Keys "<prefix>:<id>" whose wording lives in a tenant's own rows (content written
# by a manager): the prefix's spec, and how to read the row's (subject, body).
CONTENT_PREFIX = "content"
Wording = Callable[[TenantSession, str, Channel], "tuple[str, str] | None"]
_DYNAMIC: dict[str, tuple[TemplateSpec, Wording]] = {}
# Modules that register templates; imported on first use of the registry
# (capabilities add theirs here, as Celery's task modules are listed).
TEMPLATE_MODULES = (
    "prm_saas.messaging.catalog",
    "prm_saas.booking.messages",
    "prm_saas.challenges.messages",
    "prm_saas.membership.messages",
    "prm_saas.messaging.content",
)
_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in TEMPLATE_MODULES:
            importlib.import_module(module)


def register(spec: TemplateSpec) -> TemplateSpec:
    """Add a template to the registry (capabilities call this at import)."""
    if spec.variables - spec.sample.keys():
        raise ValueError(f"{spec.key}: no sample for {sorted(spec.variables - spec.sample.keys())}")
    for (channel, locale), (subject, body) in spec.defaults.items():
        unknown = template_fields(subject) | template_fields(body)
        unknown -= spec.allowed
        if unknown:
            raise ValueError(f"{spec.key} {channel}/{locale} uses unknown {sorted(unknown)}")
    _REGISTRY[spec.key] = spec
    return spec


def register_dynamic(spec: TemplateSpec, wording: Wording) -> None:
    """Keys ``<spec.key>:<id>`` are rendered from a tenant's row read by ``wording``."""
    _DYNAMIC[spec.key] = (spec, wording)


def _dynamic(key: str) -> tuple[TemplateSpec, Wording] | None:
    prefix, sep, _rest = key.partition(":")
    return _DYNAMIC.get(prefix) if sep else None


def spec_of(key: str) -> TemplateSpec:
    """The registered spec of ``key`` (NotFound for an unknown key)."""
    _load()
    dynamic = _dynamic(key)
    if dynamic is not None:
        return dynamic[0]
    spec = _REGISTRY.get(key)
    if spec is None:
        raise NotFound()
    return spec


def all_specs() -> list[TemplateSpec]:
    """Every registered template, by key."""
    _load()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


class TemplateSyntaxError(ValueError):
    """The template text is not a valid format string."""


def template_fields(text: str) -> set[str]:
    """The variable names a template uses; only plain names are allowed."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateSyntaxError(str(exc)) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            # {a.b}, {a[0]}, {a!r}, {a:>10} and {} are not allowed: plain {name} only.
            raise TemplateSyntaxError(name or "{}")
        names.add(name)
    return names


class MissingVariable(DomainError):
    """A message was rendered without a value its template needs."""

    key = "messaging.missing_variable"


def render(text: str, variables: dict[str, Any]) -> str:
    """``text`` with its {names} replaced by ``variables``."""
    needed = template_fields(text)
    missing = needed - set(variables)
    if missing:
        raise MissingVariable(name=sorted(missing)[0])
    return text.format_map({k: str(variables[k]) for k in needed})


def effective_template(
    session: TenantSession, key: str, channel: Channel, locale: str
) -> tuple[str, str] | None:
    """(subject, body) of the tenant's wording, else the built-in default, else
    the other language's default; None when the template has no such channel.
    Content keys (``content:<id>``) read their row, one wording for every language."""
    _load()
    dynamic = _dynamic(key)
    if dynamic is not None:
        return dynamic[1](session, key, channel)
    row = session.exec(
        select(MessageTemplate).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == channel,
            MessageTemplate.locale == locale,
        )
    ).first()
    if row is not None:
        return row.subject, row.body
    spec = spec_of(key)
    for loc in (locale, *LOCALES):
        if (channel, loc) in spec.defaults:
            return spec.defaults[(channel, loc)]
    return None


# --- administration --------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    """One template wording as the editor shows it."""

    key: str
    category: str
    channel: str
    locale: str
    subject: str
    body: str
    customized: bool
    variables: list[str]


def list_templates(*, session: TenantSession, actor: Principal) -> list[TemplateView]:
    """Every template, channel and language: the tenant's wording or the default."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    rows = {(r.key, r.channel, r.locale): r for r in session.exec(select(MessageTemplate)).all()}
    out = []
    for spec in all_specs():
        channels = sorted({c for c, _l in spec.defaults}, key=list(Channel).index)
        for channel in channels:
            for locale in LOCALES:
                row = rows.get((spec.key, channel, locale))
                subject, body = (
                    (row.subject, row.body)
                    if row
                    else (effective_template(session, spec.key, channel, locale) or ("", ""))
                )
                out.append(
                    TemplateView(
                        key=spec.key,
                        category=str(spec.category),
                        channel=str(channel),
                        locale=locale,
                        subject=subject,
                        body=body,
                        customized=row is not None,
                        variables=sorted(spec.allowed),
                    )
                )
    return out


def check_wording(spec: TemplateSpec, channel: Channel, subject: str, body: str) -> None:
    """Refuse wording that ``spec`` could not render on ``channel`` (FieldErrors)."""
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    for fname, text, limit in (
        ("subject", subject, SUBJECT_MAX),
        ("body", body, BODY_MAX[channel]),
    ):
        if fname == "body" and not text.strip():
            errors[fname] = ("field.required", {})
            continue
        if len(text) > limit:
            errors[fname] = ("field.too_long", {"max": limit})
            continue
        try:
            unknown = sorted(template_fields(text) - spec.allowed)
        except TemplateSyntaxError as exc:
            errors[fname] = ("messaging.template_syntax", {"token": str(exc)})
            continue
        if unknown:
            errors[fname] = (
                "messaging.unknown_variable",
                {"name": unknown[0], "allowed": ", ".join(sorted(spec.allowed))},
            )
    if errors:
        raise FieldErrors(errors)


def _channel_and_locale(channel: str, locale: str) -> tuple[Channel, str]:
    try:
        ch = Channel(channel)
    except ValueError:
        raise NotFound() from None
    if locale not in LOCALES:
        raise NotFound()
    return ch, locale


def save_template(
    *,
    session: TenantSession,
    actor: Principal,
    key: str,
    channel: str,
    locale: str,
    subject: str,
    body: str,
    ip: str = "",
) -> TemplateView:
    """Store the tenant's wording; refused with the variable named if it uses one the
    template does not know."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    spec = spec_of(key)
    ch, loc = _channel_and_locale(channel, locale)
    if (ch, "zh-CN") not in spec.defaults and (ch, "en") not in spec.defaults:
        raise NotFound()
    subject, body = (subject or "").strip(), (body or "").strip()
    check_wording(spec, ch, subject, body)
    row = session.exec(
        select(MessageTemplate).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == ch,
            MessageTemplate.locale == loc,
        )
    ).first() or MessageTemplate(key=key, channel=ch, locale=loc, body=body)
    row.subject, row.body, row.updated_at = subject, body, utcnow()
    session.add(row)
    record(
        session,
        actor=actor,
        action="messaging.template_saved",
        target_type="template",
        target_id=f"{key}/{ch}/{loc}",
        ip=ip,
    )
    return TemplateView(
        key=key,
        category=str(spec.category),
        channel=str(ch),
        locale=loc,
        subject=subject,
        body=body,
        customized=True,
        variables=sorted(spec.allowed),
    )


def reset_template(
    *, session: TenantSession, actor: Principal, key: str, channel: str, locale: str, ip: str = ""
) -> None:
    """Go back to the built-in wording."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    spec_of(key)
    ch, loc = _channel_and_locale(channel, locale)
    row = session.exec(
        select(MessageTemplate).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == ch,
            MessageTemplate.locale == loc,
        )
    ).first()
    if row is not None:
        session.delete(row)
        record(
            session,
            actor=actor,
            action="messaging.template_reset",
            target_type="template",
            target_id=f"{key}/{ch}/{loc}",
            ip=ip,
        )


@dataclass(frozen=True)
class Preview:
    """A template rendered with sample values."""

    subject: str
    body: str


def preview_template(
    *,
    session: TenantSession,
    actor: Principal,
    key: str,
    channel: str,
    subject: str,
    body: str,
    tenant_name: str,
) -> Preview:
    """Render unsaved wording with the spec's sample values (errors as on save)."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    spec = spec_of(key)
    ch, _loc = _channel_and_locale(channel, "zh-CN")
    check_wording(spec, ch, subject, body)
    values = {"tenant_name": tenant_name, "patient_name": "李娜", **spec.sample}
    return Preview(subject=render(subject, values), body=render(body, values))
