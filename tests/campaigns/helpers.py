"""Builders of the campaign tests: patients with addresses, a tagged audience, the
clinic's quiet hours, and a campaign with content, in either tenant."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import col, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import Patient, Sex
from prm_saas.audiences.services import create_audience
from prm_saas.campaigns import services as cs
from prm_saas.campaigns.models import Campaign, CampaignRecipient
from prm_saas.campaigns.release import campaign_channels
from prm_saas.messaging.models import Message, MessagingSettings
from prm_saas.tags.services import TagInput, add_tags, create_tag
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

# Tuesday 1 December 2026, 10:00 in Shanghai (the tenants' zone): not quiet.
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
_seq = itertools.count(5000)


def patients(tenant: TenantInfo, n: int) -> list[int]:
    """``n`` patients with a phone and an email."""
    ids: list[int] = []
    with tenant_session(tenant.id) as s:
        for _ in range(n):
            k = next(_seq)
            p = Patient(
                name=f"客户{k}", phone=f"+86136{k:08d}", email=f"c{k}@mail.test", sex=Sex.UNKNOWN
            )
            s.add(p)
            s.flush()
            ids.append(int(p.id or 0))
    return ids


def audience(
    tenant: TenantInfo, admin: Principal, patient_ids: list[int], name: str = "VIP"
) -> int:
    """An audience ``<name>`` of exactly these patients (through a manual tag)."""
    with tenant_session(tenant.id) as s:
        tag = create_tag(session=s, actor=admin, data=TagInput(name=name))
        for start in range(0, len(patient_ids), 500):
            add_tags(
                session=s,
                actor=admin,
                patient_ids=patient_ids[start : start + 500],
                tag_ids=[int(tag.id or 0)],
            )
        aud = create_audience(session=s, actor=admin, name=f"{name}人群", expression=name)
        return int(aud.id or 0)


def settings(tenant: TenantInfo, **kw: object) -> None:
    """The clinic's messaging settings, e.g. quiet hours ("00:00"/"00:00": none) or SMS on."""
    with tenant_session(tenant.id) as s:
        row = s.exec(select(MessagingSettings)).first() or MessagingSettings()
        for name, value in kw.items():
            setattr(row, name, value)
        s.add(row)


def form(audience_id: int, **kw: object) -> cs.CampaignInput:
    """A valid form: send now on in-app, 60 a minute."""
    base = cs.CampaignInput(name="春季体检", audience_id=audience_id, channels=["inapp"])
    return replace(base, **kw)  # type: ignore[arg-type]


def campaign(
    tenant: TenantInfo,
    admin: Principal,
    audience_id: int,
    *,
    b: bool = False,
    **kw: object,
) -> int:
    """A draft campaign with content on each of its channels (and a variant B if ``b``)."""
    with tenant_session(tenant.id) as s:
        c = cs.create_campaign(session=s, actor=admin, data=form(audience_id, **kw))
        cid = int(c.id or 0)
        for variant in ("A", "B") if b else ("A",):
            for ch in campaign_channels(c):
                cs.set_content(
                    session=s,
                    actor=admin,
                    campaign_id=cid,
                    variant=variant,
                    channel=ch,
                    subject=f"体检优惠 {variant}",
                    body=f"{{patient_name}}，您好！春季体检 {variant} {{link}}",
                )
    return cid


def recipients(tenant: TenantInfo, campaign_id: int) -> list[CampaignRecipient]:
    with tenant_session(tenant.id) as s:
        return list(
            s.exec(
                select(CampaignRecipient)
                .where(CampaignRecipient.campaign_id == campaign_id)
                .order_by(col(CampaignRecipient.id))
            ).all()
        )


def messages(tenant: TenantInfo, campaign_id: int) -> list[Message]:
    with tenant_session(tenant.id) as s:
        return list(
            s.exec(
                select(Message)
                .where(col(Message.source).like(f"campaign:{campaign_id}:%"))
                .order_by(col(Message.id))
            ).all()
        )


def status(tenant: TenantInfo, campaign_id: int) -> str:
    with tenant_session(tenant.id) as s:
        c = s.exec(select(Campaign).where(Campaign.id == campaign_id)).one()
        return str(c.status)
