"""POST /api/webhooks/sms/<tenant id>: signatures, replays, once-only events and the
wall between tenants, through the app's routes on a real port."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlmodel import select

from prm_saas.messaging.channels import Outbound, SmsChannel, SmsConfig
from prm_saas.messaging.models import Channel, ContactPreference, MessageStatus, ProviderEvent
from prm_saas.messaging.webhooks import MAX_SKEW_S
from tenants.db import tenant_session
from tenants.errors import AppendOnlyViolation
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tests.factories import World, change_status
from tests.sms_provider import (
    Account,
    SmsProvider,
    connect_tenant,
    enqueue_sms,
    load_message,
    send_due,
    sign,
    sms_webhook_url,
)


def events(tenant: TenantInfo) -> list[ProviderEvent]:
    """The tenant's stored provider events."""
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(ProviderEvent)).all())


def sms_blocked(tenant: TenantInfo, patient_id: int) -> bool:
    """Whether the patient stopped SMS in this tenant."""
    with tenant_session(tenant.id) as s:
        pref = s.exec(
            select(ContactPreference).where(
                ContactPreference.patient_id == patient_id,
                ContactPreference.channel == Channel.SMS,
            )
        ).first()
        return pref is not None and pref.blocked


def sent_sms(world: World, provider: SmsProvider) -> tuple[int, str]:
    """Tenant A sends one text; its message id and the provider's id."""
    message_id = enqueue_sms(world.a, world.patient_a.id)
    assert send_due(world.a) == {"sent": 1}
    return message_id, provider.messages[-1].provider_id


def receipt(provider_id: str, *, event_id: str = "evt-1", status: str = "delivered") -> dict:
    """A receipt body as the provider sends it."""
    return {"type": "receipt", "id": event_id, "message_id": provider_id, "status": status}


# --- signatures --------------------------------------------------------------------------


def test_a_receipt_signed_with_another_tenants_secret_is_refused(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given both tenants use the provider, and A has a sent text
    account_a = connect_tenant(world.a, world.admin_a, sms_provider)
    connect_tenant(world.b, world.admin_b, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    # when a receipt signed with A's secret is posted to B's URL
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.b),
        receipt(provider_id),
        secret=account_a.webhook_secret,
    )
    # then B refuses it and nothing is recorded anywhere
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden"}
    assert events(world.a) == []
    assert events(world.b) == []
    assert load_message(world.a, message_id).delivery_status == ""


@pytest.mark.parametrize(
    "problem",
    ["no signature", "no timestamp", "wrong secret", "body changed", "stale", "future", "garbage"],
)
def test_a_badly_signed_webhook_is_403_with_one_answer_for_every_reason(
    world: World, sms_provider: SmsProvider, app_server: str, problem: str
) -> None:
    # given tenant A with a sent text
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    body = json.dumps(receipt(provider_id)).encode()
    now = int(time.time())
    ts = {"stale": now - MAX_SKEW_S - 5, "future": now + MAX_SKEW_S + 5}.get(problem, now)
    secret = "not-the-secret" if problem == "wrong secret" else account.webhook_secret
    headers = {
        "Content-Type": "application/json",
        "X-PRM-Timestamp": str(ts),
        "X-PRM-Signature": sign(secret, str(ts), body),
    }
    if problem == "no signature":
        del headers["X-PRM-Signature"]
    if problem == "no timestamp":
        del headers["X-PRM-Timestamp"]
    if problem == "garbage":
        headers["X-PRM-Signature"] = "sha256=zz"
    if problem == "body changed":
        body = json.dumps(receipt(provider_id, status="failed")).encode()
    # when it is posted to A's webhook
    r = httpx.post(sms_webhook_url(app_server, world.a), content=body, headers=headers)
    # then it is refused, saying nothing about why, and changes nothing
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden"}
    assert events(world.a) == []
    assert load_message(world.a, message_id).delivery_status == ""


def test_a_fresh_signature_within_the_window_is_accepted(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a receipt signed four minutes ago (clocks and queues drift)
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    # when it arrives
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.a),
        receipt(provider_id),
        secret=account.webhook_secret,
        timestamp=int(time.time()) - 240,
    )
    # then it counts
    assert r.status_code == 200
    assert load_message(world.a, message_id).delivery_status == "delivered"


def test_a_tenant_without_a_webhook_secret_accepts_no_webhook(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given tenant B never configured SMS (no secret); a request signed with the empty string
    # when it is posted to B's webhook
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.b),
        {"type": "inbound", "id": "evt-1", "from": "+8613800000001", "text": "STOP"},
        secret="",
    )
    # then it is refused
    assert r.status_code == 403
    assert not sms_blocked(world.b, world.patient_b.id)


def test_an_unknown_tenant_is_404(sms_provider: SmsProvider, app_server: str) -> None:
    # given no tenant 999999 (and an id no tenant can have)
    for tenant_id in ("999999", "99999999999999999999"):
        # when a webhook is posted there
        r = sms_provider.post_signed(
            f"{app_server}/api/webhooks/sms/{tenant_id}", receipt("SM1"), secret="x"
        )
        # then there is nothing there
        assert r.status_code == 404
    assert httpx.post(f"{app_server}/api/webhooks/sms/clinic-a", content=b"{}").status_code == 404


# --- once only --------------------------------------------------------------------------


def test_a_repeated_event_is_acknowledged_and_does_nothing(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a receipt the app has already taken
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    first = sms_provider.send_receipt(provider_id, status="undelivered", event_id="evt-42")
    assert first.json()["status"] == "updated"
    # when the provider sends the same event id again (a retry), even with other content
    again = sms_provider.send_receipt(provider_id, status="delivered", event_id="evt-42")
    # then it is acknowledged as a duplicate and changes nothing
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "id": "evt-42"}
    assert load_message(world.a, message_id).delivery_status == "undelivered"
    assert [e.event_id for e in events(world.a)] == ["evt-42"]


def test_a_replayed_request_does_nothing(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a STOP the app took, and the patient later allowed texts again
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    url = sms_webhook_url(app_server, world.a)
    sms_provider.send_inbound(account, from_="+8613800000001", text="STOP", url=url)
    first = sms_provider.callbacks[-1]
    with tenant_session(world.a.id) as s:
        pref = s.exec(select(ContactPreference)).one()
        pref.blocked = False
        s.add(pref)
    # when someone replays the captured request byte for byte, within the window
    r = httpx.post(
        url,
        content=first.body,
        headers={
            "X-PRM-Timestamp": str(int(time.time())),
            "X-PRM-Signature": "sha256=" + "0" * 64,
        },
    )
    assert r.status_code == 403  # a new timestamp needs a new signature
    replayed = sms_provider.post_signed(url, json.loads(first.body), secret=account.webhook_secret)
    # then the event id is known: nothing happens
    assert replayed.json()["status"] == "duplicate"
    assert not sms_blocked(world.a, world.patient_a.id)


def test_a_late_intermediate_receipt_does_not_hide_the_final_one(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a message reported delivered
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    sms_provider.send_receipt(provider_id, status="delivered")
    # when an earlier "sent" receipt arrives late
    r = sms_provider.send_receipt(provider_id, status="sent")
    # then it is taken but the message stays delivered
    assert r.status_code == 200
    assert load_message(world.a, message_id).delivery_status == "delivered"
    assert len(events(world.a)) == 2


class ReceiptBeforeRecord:
    """The real SMS adapter of a worker that is slow to record the send: the provider's
    receipt reaches the app while the message is still ``sending`` with no provider id."""

    def __init__(self, provider: SmsProvider, account: Account, callback_url: str) -> None:
        self.provider = provider
        self.real = SmsChannel(
            SmsConfig(
                url=provider.url,
                api_key=account.api_key,
                sender=account.sender,
                callback_url=callback_url,
            )
        )
        self.receipt: httpx.Response | None = None

    def send(self, out: Outbound) -> str:
        provider_id = self.real.send(out)
        self.receipt = self.provider.send_receipt(provider_id, status="delivered")
        return provider_id

    def close(self) -> None:
        self.real.close()


def test_a_receipt_that_beats_the_record_of_the_send_still_lands(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a worker whose receipt arrives before it records the send
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    adapter = ReceiptBeforeRecord(sms_provider, account, sms_webhook_url(app_server, world.a))
    # when it delivers the message
    assert send_due(world.a, adapters=lambda _channel: adapter) == {"sent": 1}
    # then the receipt found the message by the client_ref the provider echoed
    assert adapter.receipt is not None
    assert adapter.receipt.json()["status"] == "updated"
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.SENT
    assert msg.provider_message_id == sms_provider.messages[0].provider_id
    assert msg.delivery_status == "delivered"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"type": "receipt", "message_id": "SM1", "status": "delivered"}',
        b'{"type": "receipt", "id": "evt 1", "message_id": "SM1", "status": "delivered"}',
        b'{"type": "receipt", "id": "evt-1", "message_id": "SM1", "status": "<b>"}',
        b'{"type": "receipt", "id": "evt-1", "status": "delivered"}',
        b'{"type": "inbound", "id": "evt-1", "text": "STOP"}',
        b'{"type": "inbound", "id": "evt-1", "from": 8613800000001, "text": "STOP"}',
    ],
)
def test_a_signed_body_that_makes_no_sense_is_400_and_kept_nowhere(
    world: World, sms_provider: SmsProvider, app_server: str, body: bytes
) -> None:
    # given tenant A's provider sends something malformed, correctly signed
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    ts = str(int(time.time()))
    # when it arrives
    r = httpx.post(
        sms_webhook_url(app_server, world.a),
        content=body,
        headers={
            "X-PRM-Timestamp": ts,
            "X-PRM-Signature": sign(account.webhook_secret, ts, body),
        },
    )
    # then it is refused as unreadable and nothing is stored
    assert r.status_code == 400
    assert events(world.a) == []


def test_an_event_of_an_unknown_type_is_acknowledged_and_ignored(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given the provider sends an event type we do not use
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    # when it arrives
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.a),
        {"type": "number.ported", "id": "evt-9"},
        secret=account.webhook_secret,
    )
    # then it is acknowledged (so the provider stops retrying) and nothing is stored
    assert r.json() == {"status": "ignored", "id": "evt-9"}
    assert events(world.a) == []


def test_a_body_that_is_too_large_is_refused(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given tenant A
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    # when a 100 kB body arrives
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.a),
        {"type": "inbound", "id": "evt-1", "from": "+8613800000001", "text": "x" * 100_000},
        secret=account.webhook_secret,
    )
    # then it is refused before anything is read
    assert r.status_code == 413
    assert events(world.a) == []


# --- the wall between tenants ---------------------------------------------------------


def test_a_receipt_for_b_naming_as_provider_id_changes_nothing_in_a(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given A has a sent text, and B's provider account is set up
    connect_tenant(world.a, world.admin_a, sms_provider)
    account_b = connect_tenant(world.b, world.admin_b, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    # when a correctly signed receipt for B names A's provider message id and A's client_ref
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.b),
        {
            **receipt(provider_id, status="failed"),
            "client_ref": f"prm-{world.a.id}-{message_id}",
        },
        secret=account_b.webhook_secret,
    )
    # then B takes the event, it matches nothing, and A's message is untouched
    assert r.status_code == 200
    assert r.json()["status"] == "unmatched"
    assert load_message(world.a, message_id).delivery_status == ""
    assert [e.event_id for e in events(world.b)] == ["evt-1"]
    assert events(world.a) == []


def test_a_client_ref_naming_a_message_of_the_same_id_in_b_is_not_taken_from_the_ref(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given B has a sent text
    account_b = connect_tenant(world.b, world.admin_b, sms_provider)
    message_id = enqueue_sms(world.b, world.patient_b.id)
    send_due(world.b)
    # when B's provider sends a receipt whose client_ref claims another tenant's message
    r = sms_provider.post_signed(
        sms_webhook_url(app_server, world.b),
        {
            "type": "receipt",
            "id": "evt-1",
            "client_ref": f"prm-{world.a.id}-{message_id}",
            "status": "failed",
        },
        secret=account_b.webhook_secret,
    )
    # then the ref is not B's: nothing matches
    assert r.json()["status"] == "unmatched"
    assert load_message(world.b, message_id).delivery_status == ""


def test_a_stop_at_b_blocks_sms_only_at_b(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given the same phone is a patient of both A and B, and both send texts
    connect_tenant(world.a, world.admin_a, sms_provider)
    account_b = connect_tenant(world.b, world.admin_b, sms_provider)
    # when the phone replies STOP to B's number
    r = sms_provider.send_inbound(
        account_b, from_="+86 138 0000 0001", text="退订", url=sms_webhook_url(app_server, world.b)
    )
    assert r.json()["status"] == "stopped"
    # then B sends it nothing more, while A still does
    assert sms_blocked(world.b, world.patient_b.id)
    assert not sms_blocked(world.a, world.patient_a.id)
    enqueue_sms(world.b, world.patient_b.id)
    enqueue_sms(world.a, world.patient_a.id)
    assert send_due(world.b) == {"suppressed": 1}
    assert send_due(world.a) == {"sent": 1}
    assert events(world.a) == []


def test_events_with_the_same_id_at_two_tenants_are_two_events(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given both tenants' providers happen to use the same event id
    account_a = connect_tenant(world.a, world.admin_a, sms_provider)
    account_b = connect_tenant(world.b, world.admin_b, sms_provider)
    for tenant, account in ((world.a, account_a), (world.b, account_b)):
        # when each sends a STOP with that id
        r = sms_provider.send_inbound(
            account,
            from_="+8613800000001",
            text="STOP",
            url=sms_webhook_url(app_server, tenant),
            event_id="evt-same",
        )
        # then each tenant acts on its own
        assert r.json()["status"] == "stopped"
    assert sms_blocked(world.a, world.patient_a.id)
    assert sms_blocked(world.b, world.patient_b.id)


# --- a suspended tenant -----------------------------------------------------------------


def test_a_suspended_tenant_still_honours_a_stop_reply(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given tenant A is suspended (read-only) after it sent texts
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    change_status(world.a, TenantStatus.SUSPENDED)
    # when a patient replies STOP
    r = sms_provider.send_inbound(
        account, from_="+8613800000001", text="STOP", url=sms_webhook_url(app_server, world.a)
    )
    # then the opt-out is recorded all the same
    assert r.status_code == 200
    assert r.json()["status"] == "stopped"
    assert sms_blocked(world.a, world.patient_a.id)


def test_a_receipt_for_a_suspended_tenant_is_deferred(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given tenant A sent a text and was then suspended
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id, provider_id = sent_sms(world, sms_provider)
    change_status(world.a, TenantStatus.SUSPENDED)
    # when the receipt arrives
    r = sms_provider.send_receipt(provider_id, event_id="evt-late")
    # then the provider is asked to retry later, and nothing is half-recorded
    assert r.status_code == 503
    assert "retry-after" in r.headers
    assert events(world.a) == []
    # and once the tenant is back, the retry lands
    change_status(world.a, TenantStatus.ACTIVE)
    assert sms_provider.send_receipt(provider_id, event_id="evt-late").status_code == 200
    assert load_message(world.a, message_id).delivery_status == "delivered"


# --- the events are a record ----------------------------------------------------------


def test_a_stored_event_cannot_be_changed_or_deleted(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a stored inbound event
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    sms_provider.send_inbound(
        account, from_="+8613800000001", text="STOP", url=sms_webhook_url(app_server, world.a)
    )
    # when code tries to rewrite it, or delete it
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        event = s.exec(select(ProviderEvent)).one()
        event.kind = "receipt"
        s.add(event)
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        s.delete(s.exec(select(ProviderEvent)).one())
    # then it is as received
    [event] = events(world.a)
    assert event.kind == "inbound"
    assert json.loads(event.payload)["text"] == "STOP"


@pytest.mark.postgres_only
def test_the_app_role_cannot_rewrite_provider_events_even_with_raw_sql(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a stored event, and the app's database role
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    sms_provider.send_inbound(
        account, from_="+8613800000001", text="STOP", url=sms_webhook_url(app_server, world.a)
    )
    # when raw SQL tries to change or remove it
    with tenant_session(world.a.id) as s:
        for statement in ("UPDATE provider_event SET kind = 'x'", "DELETE FROM provider_event"):
            with pytest.raises(ProgrammingError, match="permission denied"), s.begin_nested():
                s.execute(text(statement))
    # then PostgreSQL refused it: the row is unchanged
    assert [e.kind for e in events(world.a)] == ["inbound"]
