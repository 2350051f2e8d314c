"""The SMS channel end to end: the outbox, a real HTTP provider (tests/sms_provider.py)
and the app's webhook route on a real port for the provider's receipts and replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select, update

from prm_saas.messaging.channels import ChannelAdapter, Outbound, SmsChannel, SmsConfig
from prm_saas.messaging.delivery import BACKOFF, MAX_ATTEMPTS
from prm_saas.messaging.models import Channel, Message, MessageStatus, UsageCounter
from tenants.db import tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import World
from tests.sms_provider import (
    Account,
    SmsProvider,
    connect_tenant,
    enqueue_sms,
    load_message,
    send_due,
    sms_webhook_url,
)


def make_due_now(tenant: TenantInfo, message_id: int) -> None:
    """Let the back-off wait pass."""
    with tenant_session(tenant.id) as s:
        s.exec(update(Message).where(col(Message.id) == message_id).values(due_at=utcnow()))


def sms_usage(tenant: TenantInfo) -> int:
    """SMS sent by the tenant, as billing counts them."""
    with tenant_session(tenant.id) as s:
        rows = s.exec(select(UsageCounter).where(UsageCounter.channel == Channel.SMS)).all()
        return sum(r.count for r in rows)


class WorkerDied(BaseException):
    """A worker killed after the provider accepted, before it recorded the send."""


class DiesAfterSending:
    """The real SMS adapter, in a worker that is killed right after the provider answers."""

    def __init__(self, config: SmsConfig) -> None:
        self.real = SmsChannel(config)

    def send(self, out: Outbound) -> str:
        self.real.send(out)
        raise WorkerDied()

    def close(self) -> None:
        self.real.close()


def dying_worker(provider: SmsProvider, account: Account, callback_url: str) -> ChannelAdapter:
    """The adapter of a worker configured as the engine configures the tenant's."""
    return DiesAfterSending(
        SmsConfig(
            url=provider.url,
            api_key=account.api_key,
            sender=account.sender,
            callback_url=callback_url,
        )
    )


def test_an_sms_reaches_the_provider_with_the_tenants_key_and_is_marked_sent(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given tenant A sends SMS through the provider
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    # when the dispatcher claims and delivers it
    counts = send_due(world.a)
    # then the provider got one request, authorised with A's key, deduplicable by key
    assert counts == {"sent": 1}
    assert sms_provider.requests == 1
    [sms] = sms_provider.messages
    assert sms.authorization == f"Bearer {account.api_key}"
    assert sms.idempotency_key == f"prm-{world.a.id}-{message_id}"
    assert sms.client_ref == sms.idempotency_key
    assert sms.to == "+8613800000001"
    assert sms.sender == account.sender
    assert sms.text.startswith(f"【{world.a.name}】")
    assert "复诊" in sms.text
    assert "2026-12-01 09:30" in sms.text
    assert sms.callback_url == sms_webhook_url(app_server, world.a)
    # and the message is sent under the provider's id, and counted for billing
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.SENT
    assert msg.provider_message_id == sms.provider_id
    assert msg.attempts == 1
    assert msg.body == sms.text
    assert sms_usage(world.a) == 1
    assert sms_usage(world.b) == 0


def test_each_tenant_sends_with_its_own_account(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given both tenants use the same provider with their own accounts
    account_a = connect_tenant(world.a, world.admin_a, sms_provider, sender="CLINICA")
    account_b = connect_tenant(world.b, world.admin_b, sms_provider, sender="CENTERB")
    enqueue_sms(world.a, world.patient_a.id)
    enqueue_sms(world.b, world.patient_b.id)
    # when each tenant's dispatcher runs
    assert send_due(world.a) == {"sent": 1}
    assert send_due(world.b) == {"sent": 1}
    # then each message went with its tenant's key, sender and callback URL
    by_key = {m.authorization: m for m in sms_provider.messages}
    assert by_key[f"Bearer {account_a.api_key}"].sender == "CLINICA"
    assert by_key[f"Bearer {account_a.api_key}"].callback_url.endswith(f"/sms/{world.a.id}")
    assert by_key[f"Bearer {account_b.api_key}"].sender == "CENTERB"
    assert by_key[f"Bearer {account_b.api_key}"].callback_url.endswith(f"/sms/{world.b.id}")


def test_a_delivery_receipt_from_the_provider_sets_the_delivery_status(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a sent SMS
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    send_due(world.a)
    [sms] = sms_provider.messages
    # when the provider reports it delivered, to the callback URL it was given
    r = sms_provider.send_receipt(sms.provider_id, status="delivered")
    # then the app accepts it and the message shows it
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "updated"
    msg = load_message(world.a, message_id)
    assert msg.delivery_status == "delivered"
    assert msg.status == MessageStatus.SENT


def test_a_failed_delivery_receipt_is_shown_too(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a sent SMS
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    send_due(world.a)
    # when the carrier could not deliver it
    r = sms_provider.send_receipt(sms_provider.messages[0].provider_id, status="undelivered")
    # then the log shows it (sent to the provider, not delivered)
    assert r.status_code == 200
    msg = load_message(world.a, message_id)
    assert (msg.status, msg.delivery_status) == (MessageStatus.SENT, "undelivered")


@pytest.mark.parametrize("reply", ["STOP", "退订", "退订。", "T", " t ", "ＴＤ"])
def test_a_stop_reply_blocks_every_further_sms_to_the_patient(
    world: World, sms_provider: SmsProvider, app_server: str, reply: str
) -> None:
    # given the patient got a text from tenant A
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    enqueue_sms(world.a, world.patient_a.id)
    send_due(world.a)
    # when they reply with a stop word
    r = sms_provider.send_inbound(
        account, from_="+8613800000001", text=reply, url=sms_webhook_url(app_server, world.a)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stopped"
    # then the next marketing AND transactional texts are suppressed, and none reaches the provider
    tip = enqueue_sms(world.a, world.patient_a.id, template_key="marketing.health_tip")
    reminder = enqueue_sms(world.a, world.patient_a.id)
    assert send_due(world.a) == {"suppressed": 2}
    for message_id in (tip, reminder):
        msg = load_message(world.a, message_id)
        assert (msg.status, msg.suppressed_reason) == (MessageStatus.SUPPRESSED, "blocked")
    assert len(sms_provider.messages) == 1


def test_a_reply_that_is_not_a_stop_word_changes_nothing(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a tenant sending texts
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    # when a patient replies something else
    r = sms_provider.send_inbound(
        account,
        from_="+8613800000001",
        text="好的，明天见 STOP",
        url=sms_webhook_url(app_server, world.a),
    )
    # then the reply is kept but the patient still gets texts
    assert r.json()["status"] == "stored"
    enqueue_sms(world.a, world.patient_a.id)
    assert send_due(world.a) == {"sent": 1}


@pytest.mark.parametrize("status", [500, 503])
def test_a_transient_provider_error_backs_off_and_the_retry_is_sent_once(
    world: World, sms_provider: SmsProvider, app_server: str, status: int
) -> None:
    # given the provider fails the next request
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    sms_provider.fail_next(1, status=status)
    # when the message is delivered
    before = utcnow()
    assert send_due(world.a) == {"retry": 1}
    # then it waits for the first back-off, with the error recorded
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.SCHEDULED
    assert f"HTTP {status}" in msg.error
    assert msg.attempts == 1
    assert before + BACKOFF[0] <= msg.due_at <= utcnow() + BACKOFF[0]
    # and nothing more happens before the back-off has passed
    assert send_due(world.a) == {}
    # when it is due again, it is sent, once, under the same key
    make_due_now(world.a, message_id)
    assert send_due(world.a) == {"sent": 1}
    msg = load_message(world.a, message_id)
    assert (msg.status, msg.error, msg.attempts) == (MessageStatus.SENT, "", 2)
    key = f"prm-{world.a.id}-{message_id}"
    assert sms_provider.requests_per_key[key] == 2
    assert sms_provider.accepted_count(key) == 1
    assert sms_usage(world.a) == 1


def test_transient_errors_give_up_after_the_last_attempt(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a provider that keeps failing
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    sms_provider.fail_next(MAX_ATTEMPTS, status=503)
    # when every back-off has passed and the message was tried each time
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcomes.append(send_due(world.a))
        make_due_now(world.a, message_id)
    # then it was retried with growing waits, then failed with the last error
    assert outcomes == [{"retry": 1}] * (MAX_ATTEMPTS - 1) + [{"failed": 1}]
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.FAILED
    assert "HTTP 503" in msg.error
    assert msg.attempts == MAX_ATTEMPTS
    assert sms_provider.messages == []
    assert sms_usage(world.a) == 0


def test_a_permanent_provider_error_fails_the_message(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given the provider refuses the number
    connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    sms_provider.fail_next(1, status=400, error="invalid number")
    # when the message is delivered
    assert send_due(world.a) == {"failed": 1}
    # then it failed for good, saying why, and is not tried again
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.FAILED
    assert "HTTP 400" in msg.error
    assert "invalid number" in msg.error
    make_due_now(world.a, message_id)
    assert send_due(world.a) == {}
    assert sms_provider.requests == 1


def test_a_wrong_api_key_is_a_permanent_error(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given the provider does not know the tenant's key (the account was closed)
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    del sms_provider.accounts[account.api_key]
    message_id = enqueue_sms(world.a, world.patient_a.id)
    # when the message is delivered
    assert send_due(world.a) == {"failed": 1}
    # then it fails with the provider's answer
    assert "HTTP 401" in load_message(world.a, message_id).error


def test_a_message_resent_after_a_lost_worker_reaches_the_provider_once(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a worker was killed after the provider accepted the text, before recording it
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    worker = dying_worker(sms_provider, account, sms_webhook_url(app_server, world.a))
    with pytest.raises(WorkerDied):
        send_due(world.a, adapters=lambda _channel: worker)
    worker.close()
    msg = load_message(world.a, message_id)
    assert msg.status == MessageStatus.SENDING
    assert msg.provider_message_id == ""
    # and its lease has run out
    with tenant_session(world.a.id) as s:
        s.exec(
            update(Message)
            .where(col(Message.id) == message_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    # when the dispatcher claims it again and a healthy worker delivers it
    assert send_due(world.a) == {"sent": 1}
    # then the provider saw the same Idempotency-Key twice and kept one message
    key = f"prm-{world.a.id}-{message_id}"
    assert sms_provider.requests_per_key[key] == 2
    assert sms_provider.accepted_count(key) == 1
    [sms] = sms_provider.messages
    # and the message carries the provider's id of that one message, counted once
    msg = load_message(world.a, message_id)
    assert (msg.status, msg.provider_message_id) == (MessageStatus.SENT, sms.provider_id)
    assert msg.attempts == 2
    assert sms_usage(world.a) == 1


def test_a_row_whose_lease_has_not_run_out_is_not_sent_again(
    world: World, sms_provider: SmsProvider, app_server: str
) -> None:
    # given a worker holds a message (sending, lease in the future)
    account = connect_tenant(world.a, world.admin_a, sms_provider)
    message_id = enqueue_sms(world.a, world.patient_a.id)
    worker = dying_worker(sms_provider, account, sms_webhook_url(app_server, world.a))
    with pytest.raises(WorkerDied):
        send_due(world.a, adapters=lambda _channel: worker)
    worker.close()
    # when the dispatcher runs before the lease ends
    assert send_due(world.a) == {}
    # then nothing is sent again
    assert sms_provider.requests == 1
    assert load_message(world.a, message_id).status == MessageStatus.SENDING
