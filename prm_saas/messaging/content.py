"""Custom message content: what a campaign or an automation says, written by the
clinic's manager rather than registered by a capability.

A message enqueued with ``template_key=content_key(id)`` goes through the outbox
like any other and is rendered at send time from the ``message_content`` row of
the recipient's tenant (``templates.effective_template``); the spec of every
such key is ``CONTENT_SPEC``: a marketing message that may use the patient's
and the tenant's name and ``{link}``. The text is checked on save exactly as the
template editor checks a tenant's wording.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, select

from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.templates import (
    CONTENT_PREFIX,
    TemplateSpec,
    check_wording,
    register_dynamic,
)
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.models import TenantScoped, ts_field
from tenants.types import utcnow


class MessageContent(TenantScoped, table=True):
    """One channel's wording of a campaign variant or an automation step."""

    __tablename__ = "message_content"
    __table_args__ = (sa.Index("ix_message_content_owner", "tenant_id", "owner"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=sa.String(8))
    subject: str = Field(default="", max_length=300)
    body: str = Field(max_length=8000)
    owner: str = Field(default="", max_length=80)  # "campaign:7", "automation:3"
    updated_at: datetime = ts_field()


CONTENT_SPEC = TemplateSpec(
    key=CONTENT_PREFIX,
    category=Category.MARKETING,
    variables=frozenset({"link"}),
    sample={"link": "https://example.com/offer"},
)


def content_key(content_id: int) -> str:
    """The template key of messages that send content ``content_id``."""
    return f"{CONTENT_PREFIX}:{content_id}"


def _content_id(key: str) -> int | None:
    _prefix, _sep, rest = key.partition(":")
    return int(rest) if rest.isdigit() else None


def _wording(session: TenantSession, key: str, channel: Channel) -> tuple[str, str] | None:
    content_id = _content_id(key)
    if content_id is None:
        return None
    row = session.exec(select(MessageContent).where(MessageContent.id == content_id)).first()
    if row is None or row.channel != channel:
        return None
    return row.subject, row.body


register_dynamic(CONTENT_SPEC, _wording)


def check_content(channel: Channel, subject: str, body: str) -> None:
    """Refuse wording the engine could not send (FieldErrors on subject / body)."""
    check_wording(CONTENT_SPEC, channel, subject, body)


def save_content(
    session: TenantSession,
    *,
    channel: Channel,
    subject: str,
    body: str,
    owner: str,
    content_id: int | None = None,
) -> MessageContent:
    """Create or replace a content row of the session's tenant (checked first).

    Callers check the actor: content belongs to the campaign or automation that
    owns it, whose service decides who may edit it. Another tenant's id is not
    found.
    """
    subject, body = subject.strip(), body.strip()
    check_content(channel, subject, body)
    now = utcnow()
    if content_id is None:
        row = MessageContent(
            channel=channel, subject=subject, body=body, owner=owner[:80], updated_at=now
        )
    else:
        found = session.exec(
            select(MessageContent).where(
                MessageContent.id == content_id, MessageContent.owner == owner[:80]
            )
        ).first()
        if found is None:
            raise NotFound()
        row = found
        row.channel, row.subject, row.body, row.updated_at = channel, subject, body, now
    session.add(row)
    session.flush()
    return row


def get_content(session: TenantSession, content_id: int) -> MessageContent:
    """A content row of the session's tenant (NotFound otherwise)."""
    row = session.exec(select(MessageContent).where(MessageContent.id == content_id)).first()
    if row is None:
        raise NotFound()
    return row
