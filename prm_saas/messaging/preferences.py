"""A tenant's messaging settings, patients' consent per channel, unsubscribe links,
and usage counters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.credentials import decrypt_secret, encrypt_secret
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.messaging.models import (
    Category,
    Channel,
    ContactPreference,
    MessagingSettings,
    MessagingSettingsView,
    UsageCounter,
)
from prm_saas.messaging.quiet_hours import parse_hhmm
from prm_saas.settings import get_settings
from prm_saas.validation import Checker, normalize_phone
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.types import utcnow

MAX_DAILY_CAP = 50

# --- tenant settings ---------------------------------------------------------------------


def messaging_settings(session: TenantSession) -> MessagingSettings:
    """The tenant's settings row, or the defaults (not stored) when it has none."""
    return session.exec(select(MessagingSettings)).first() or MessagingSettings()


def sms_webhook_secret(session: TenantSession) -> str:
    """The secret the tenant's SMS provider signs webhooks with ("" if unset)."""
    return decrypt_secret(messaging_settings(session).sms_webhook_secret_enc)


def sms_api_key(session: TenantSession) -> str:
    """The tenant's SMS provider API key ("" if unset)."""
    return decrypt_secret(messaging_settings(session).sms_api_key_enc)


def _view(row: MessagingSettings) -> MessagingSettingsView:
    return MessagingSettingsView(
        email_enabled=row.email_enabled,
        email_from_name=row.email_from_name,
        sms_enabled=row.sms_enabled,
        sms_provider_url=row.sms_provider_url,
        sms_sender=row.sms_sender,
        sms_has_api_key=bool(row.sms_api_key_enc),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        daily_cap=row.daily_cap,
        marketing_default=row.marketing_default,
    )


def get_messaging_settings(*, session: TenantSession, actor: Principal) -> MessagingSettingsView:
    """The settings page's values."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    return _view(messaging_settings(session))


def update_messaging_settings(
    *,
    session: TenantSession,
    actor: Principal,
    email_enabled: bool,
    email_from_name: str,
    sms_enabled: bool,
    sms_provider_url: str,
    sms_sender: str,
    quiet_start: str,
    quiet_end: str,
    daily_cap: Any,
    marketing_default: bool,
    sms_api_key: str = "",
    sms_webhook_secret: str = "",
    ip: str = "",
) -> MessagingSettingsView:
    """Change channels, quiet hours and caps. Empty secrets keep the stored ones."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    row = session.exec(select(MessagingSettings)).first() or MessagingSettings()
    c = Checker()
    from_name = c.text("email_from_name", email_from_name, max_len=80, required=False)
    url = c.url(
        "sms_provider_url", sms_provider_url, required=bool(sms_enabled), allow_http_localhost=True
    )
    sender = c.text("sms_sender", sms_sender, max_len=40, required=bool(sms_enabled))
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if parse_hhmm(value or "") is None:
            c.fail(name, "messaging.bad_time")
    try:
        cap = int(daily_cap)
    except (TypeError, ValueError):
        cap = -1
    if not 0 <= cap <= MAX_DAILY_CAP:
        c.fail("daily_cap", "messaging.bad_cap", max=MAX_DAILY_CAP)
    if sms_enabled and not (sms_api_key or row.sms_api_key_enc):
        c.fail("sms_api_key", "field.required")
    if sms_enabled and not (sms_webhook_secret or row.sms_webhook_secret_enc):
        c.fail("sms_webhook_secret", "field.required")
    for name, secret in (("sms_api_key", sms_api_key), ("sms_webhook_secret", sms_webhook_secret)):
        if len(secret or "") > 500:
            c.fail(name, "field.too_long", max=500)
    c.raise_if_any()
    changes: dict[str, Any] = {
        "email_enabled": bool(email_enabled),
        "email_from_name": from_name,
        "sms_enabled": bool(sms_enabled),
        "sms_provider_url": url,
        "sms_sender": sender,
        "quiet_start": (quiet_start or "").strip(),
        "quiet_end": (quiet_end or "").strip(),
        "daily_cap": cap,
        "marketing_default": bool(marketing_default),
    }
    diff = {
        k: {"from": getattr(row, k), "to": v} for k, v in changes.items() if getattr(row, k) != v
    }
    for k, v in changes.items():
        setattr(row, k, v)
    if sms_api_key:
        row.sms_api_key_enc = encrypt_secret(sms_api_key)
        diff["sms_api_key"] = {"from": "***", "to": "***"}
    if sms_webhook_secret:
        row.sms_webhook_secret_enc = encrypt_secret(sms_webhook_secret)
        diff["sms_webhook_secret"] = {"from": "***", "to": "***"}
    row.updated_at = utcnow()
    session.add(row)
    if diff:
        record(
            session,
            actor=actor,
            action="messaging.settings_changed",
            target_type="tenant",
            target_id=session.tenant_id,
            ip=ip,
            details=diff,
        )
    return _view(row)


# --- consent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    """What a patient allows on one channel."""

    channel: str
    marketing: bool
    blocked: bool


def _pref(session: TenantSession, patient_id: int, channel: Channel) -> ContactPreference | None:
    return session.exec(
        select(ContactPreference).where(
            ContactPreference.patient_id == patient_id, ContactPreference.channel == channel
        )
    ).first()


def preferences_of(
    session: TenantSession, patient_ids: Iterable[int]
) -> dict[tuple[int, str], ContactPreference]:
    """Every stored preference of these patients, by (patient id, channel), in one query."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(ContactPreference).where(col(ContactPreference.patient_id).in_(ids))
    ).all()
    return {(r.patient_id, str(r.channel)): r for r in rows}


def may_send(
    session: TenantSession,
    *,
    patient_id: int | None,
    channel: Channel,
    category: Category,
    settings: MessagingSettings,
    preferences: Mapping[tuple[int, str], ContactPreference] | None = None,
) -> str:
    """The suppression reason, or "" when the message may go out.

    Account messages to people who are not patients (staff invitations) are
    not subject to the tenant's patient-channel switches or consent.
    ``preferences`` (from ``preferences_of``) spares a batch one query per message.
    """
    if patient_id is None:
        return ""
    if channel == Channel.EMAIL and not settings.email_enabled:
        return "channel_disabled"
    if channel == Channel.SMS and not settings.sms_enabled:
        return "channel_disabled"
    pref = (
        preferences.get((patient_id, str(channel)))
        if preferences is not None
        else _pref(session, patient_id, channel)
    )
    if pref is not None and pref.blocked:
        return "blocked"
    if category == Category.MARKETING:
        allowed = pref.marketing if pref is not None else settings.marketing_default
        if not allowed:
            return "opted_out"
    return ""


def set_consent(
    session: TenantSession,
    *,
    patient_id: int,
    channel: Channel,
    marketing: bool | None = None,
    blocked: bool | None = None,
    source: str,
) -> ContactPreference:
    """Record a consent change (insert or update; concurrent first writes are retried)."""
    for _attempt in range(2):
        pref = _pref(session, patient_id, channel)
        if pref is None:
            settings = messaging_settings(session)
            pref = ContactPreference(
                patient_id=patient_id, channel=channel, marketing=settings.marketing_default
            )
        if marketing is not None:
            pref.marketing = marketing
        if blocked is not None:
            pref.blocked = blocked
        pref.source, pref.updated_at = source, utcnow()
        try:
            with session.begin_nested():
                session.add(pref)
                session.flush()
            return pref
        except IntegrityError:
            continue
    raise RuntimeError("could not record consent")


def my_consents(*, session: TenantSession, actor: Principal) -> list[Consent]:
    """The signed-in patient's consent on every channel."""
    require_patient(session, actor)
    settings = messaging_settings(session)
    out = []
    for channel in Channel:
        pref = _pref(session, actor.id, channel)
        out.append(
            Consent(
                channel=str(channel),
                marketing=pref.marketing if pref else settings.marketing_default,
                blocked=pref.blocked if pref else False,
            )
        )
    return out


def set_my_consent(
    *,
    session: TenantSession,
    actor: Principal,
    channel: str,
    marketing: bool,
    enabled: bool,
    ip: str = "",
) -> Consent:
    """The patient turns a channel on/off, and marketing on it on/off."""
    require_patient(session, actor)
    try:
        ch = Channel(channel)
    except ValueError:
        raise NotFound() from None
    if ch == Channel.INAPP:
        enabled = True  # the inbox is where account messages land; it cannot be blocked
    pref = set_consent(
        session,
        patient_id=actor.id,
        channel=ch,
        marketing=bool(marketing),
        blocked=not enabled,
        source="patient",
    )
    record(
        session,
        actor=actor,
        action="messaging.consent_changed",
        target_type="patient",
        target_id=actor.id,
        ip=ip,
        details={"channel": str(ch), "marketing": pref.marketing, "blocked": pref.blocked},
    )
    return Consent(channel=str(ch), marketing=pref.marketing, blocked=pref.blocked)


def stop_reply(session: TenantSession, *, phone: str, text: str) -> int | None:
    """An inbound SMS: a STOP word blocks SMS for the patient with that phone.
    Returns the patient id when it was a STOP, else None."""
    words = {"STOP", "UNSUBSCRIBE", "TD", "T", "退订", "取消"}
    # A Chinese input method in full-width mode sends "ＴＤ"; people add "。" or "!".
    word = unicodedata.normalize("NFKC", text or "").strip().rstrip(".!。！").strip()
    if word.upper() not in words:
        return None
    e164 = normalize_phone(phone)
    if e164 is None:
        return None
    patient = session.exec(select(Patient).where(Patient.phone == e164)).first()
    if patient is None or patient.id is None:
        return None
    set_consent(
        session, patient_id=patient.id, channel=Channel.SMS, blocked=True, source="stop_reply"
    )
    record(
        session,
        actor=None,
        actor_label=e164,
        action="messaging.stop_reply",
        target_type="patient",
        target_id=patient.id,
    )
    return patient.id


# --- unsubscribe links ------------------------------------------------------------------------


def _sign(payload: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"unsubscribe:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def unsubscribe_token(tenant_id: int, patient_id: int, channel: Channel) -> str:
    """An unguessable token naming (tenant, patient, channel) for marketing opt-out."""
    payload = f"{tenant_id}.{patient_id}.{channel}"
    return f"{payload}.{_sign(payload)}"


def read_unsubscribe_token(token: str) -> tuple[int, int, Channel] | None:
    """(tenant, patient, channel) of a valid token, else None."""
    parts = (token or "").split(".")
    if len(parts) != 4:
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(payload), parts[3]):
        return None
    try:
        return int(parts[0]), int(parts[1]), Channel(parts[2])
    except ValueError:
        return None


def unsubscribe(session: TenantSession, *, patient_id: int, channel: Channel) -> None:
    """The patient clicked the link in a marketing message."""
    if session.exec(select(Patient.id).where(Patient.id == patient_id)).first() is None:
        raise NotFound()
    set_consent(session, patient_id=patient_id, channel=channel, marketing=False, source="link")
    record(
        session,
        actor=None,
        actor_label=f"patient:{patient_id}",
        action="messaging.unsubscribed",
        target_type="patient",
        target_id=patient_id,
        details={"channel": str(channel)},
    )


# --- usage ---------------------------------------------------------------------------------------


def count_usage(session: TenantSession, *, channel: Channel, month: str, n: int = 1) -> None:
    """Add ``n`` sent messages to the tenant's counter for ``month`` (YYYY-MM)."""
    for _attempt in range(3):
        row = session.exec(
            select(UsageCounter)
            .where(UsageCounter.channel == channel, UsageCounter.month == month)
            .with_for_update()
        ).first()
        if row is not None:
            row.count += n
            session.add(row)
            return
        try:
            with session.begin_nested():
                session.add(UsageCounter(channel=channel, month=month, count=n))
                session.flush()
            return
        except IntegrityError:
            continue  # another worker created it first: update it
    raise RuntimeError("could not count usage")


@dataclass(frozen=True)
class UsageRow:
    """Messages sent in one month on one channel."""

    month: str
    channel: str
    count: int


def usage_report(*, session: TenantSession, actor: Principal) -> list[UsageRow]:
    """The tenant's usage, newest month first."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    rows = session.exec(select(UsageCounter)).all()
    return sorted(
        (UsageRow(month=r.month, channel=str(r.channel), count=r.count) for r in rows),
        key=lambda r: (r.month, r.channel),
        reverse=True,
    )
