"""Custom content (campaigns, automations): checked like a template on save,
rendered from the recipient's tenant at send time."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.i18n import translate
from prm_saas.messaging.content import MessageContent, content_key, save_content
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import (
    Channel,
    InboxItem,
    Message,
    MessageStatus,
    MessagingSettings,
)
from prm_saas.messaging.outbox import claim_due, enqueue
from prm_saas.messaging.templates import spec_of
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import World


def _content(
    tenant: TenantInfo, body: str, subject: str = "", channel: Channel = Channel.INAPP
) -> int:
    with tenant_session(tenant.id) as s:
        row = save_content(s, channel=channel, subject=subject, body=body, owner="campaign:1")
        assert row.id is not None
        return row.id


def _send(tenant: TenantInfo, patient_id: int, key: str) -> Message:
    with tenant_session(tenant.id) as s:
        s.add(MessagingSettings(quiet_start="00:00", quiet_end="00:00"))
        enqueue(
            s,
            template_key=key,
            channel=Channel.INAPP,
            patient_id=patient_id,
            variables={"link": "https://clinic.example/spring"},
            dedupe_key=f"t:{key}:{patient_id}",
        )
    with tenant_session(tenant.id) as s:
        ids = claim_due(s, now=utcnow(), limit=10)
    deliver_batch(tenant_id=tenant.id, message_ids=ids)
    with tenant_session(tenant.id) as s:
        return s.exec(select(Message).where(Message.template_key == key)).one()


def test_content_is_rendered_at_send_with_the_recipient(world: World) -> None:
    cid = _content(
        world.a, "{patient_name}，春季体检 8 折：{link}", subject="{tenant_name} 春季活动"
    )
    msg = _send(world.a, world.patient_a.id, content_key(cid))
    assert msg.status == MessageStatus.SENT
    assert msg.category == "marketing"
    with tenant_session(world.a.id) as s:
        item = s.exec(select(InboxItem)).one()
    assert item.title == "阳光社区诊所 春季活动"
    # the link goes out as given or as the tracking redirect to it
    assert item.body.startswith("患者")
    assert "，春季体检 8 折：http" in item.body
    # the latest wording at send time is what goes out (like a tenant's template)
    assert spec_of(content_key(cid)).category == "marketing"


def test_content_is_checked_like_a_template(world: World) -> None:
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        save_content(s, channel=Channel.SMS, subject="", body="{points} 分 {", owner="campaign:1")
    key, params = exc.value.errors["body"]
    assert key == "messaging.template_syntax"
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        save_content(
            s, channel=Channel.SMS, subject="", body="您有 {points} 分", owner="campaign:1"
        )
    key, params = exc.value.errors["body"]
    assert "points" in translate(key, "en", **params)
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        save_content(s, channel=Channel.SMS, subject="", body="x" * 501, owner="campaign:1")
    assert exc.value.errors["body"][0] == "field.too_long"
    with tenant_session(world.a.id) as s:
        assert s.exec(select(MessageContent)).all() == []


def test_another_tenants_content_is_never_sent(world: World) -> None:
    cid_b = _content(world.b, "B 的活动内容")
    # A message of tenant A naming B's content renders nothing: it fails, B's text never leaks
    msg = _send(world.a, world.patient_a.id, content_key(cid_b))
    assert msg.status == MessageStatus.FAILED
    assert "B 的活动内容" not in msg.body
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        save_content(
            s, channel=Channel.INAPP, subject="", body="改", owner="campaign:1", content_id=cid_b
        )
    with tenant_session(world.b.id) as s:
        assert s.exec(select(MessageContent)).one().body == "B 的活动内容"
