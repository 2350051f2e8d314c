"""Password reset by one-time code (prm_saas.accounts.password_reset)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, func, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from prm_saas.accounts.auth import login_patient, login_staff, resolve_session
from prm_saas.accounts.models import AccountStatus, PasswordResetCode, PrincipalKind, StaffMember
from prm_saas.accounts.password_reset import (
    CODE_TTL,
    MAX_CODES_PER_HOUR,
    MAX_TRIES,
    request_reset,
    reset_password,
)
from prm_saas.audit.models import AuditEvent
from prm_saas.messaging.models import Message, MessageStatus
from prm_saas.messaging.preferences import update_messaging_settings
from tenants.db import tenant_session
from tenants.errors import TenantReadOnly
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import PASSWORD, World, change_status, make_patient, make_staff, make_tenant
from tests.oidc_provider import serve_app
from tests.smtp_sink import MailSink

NEW = "Fresh2025start"
INVALID = {"code": ("field.code_invalid", {})}


def request(tenant: TenantInfo, kind: str, identifier: str) -> None:
    with tenant_session(tenant.id) as s:
        assert request_reset(session=s, kind=kind, identifier=identifier, ip="10.4.4.4") is None


def reset(
    tenant: TenantInfo,
    kind: str,
    identifier: str,
    code: str,
    password: str = NEW,
    confirm: str | None = None,
) -> dict[str, tuple[str, dict[str, object]]]:
    with tenant_session(tenant.id) as s:
        return reset_password(
            session=s,
            kind=kind,
            identifier=identifier,
            code=code,
            password=password,
            password_confirm=password if confirm is None else confirm,
        )


def staff_ok(tenant: TenantInfo, email: str, password: str) -> bool:
    with tenant_session(tenant.id) as s:
        return login_staff(session=s, email=email, password=password).ok


def patient_ok(tenant: TenantInfo, identifier: str, password: str) -> bool:
    with tenant_session(tenant.id) as s:
        return login_patient(session=s, identifier=identifier, password=password).ok


def actions(tenant: TenantInfo) -> list[str]:
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def codes(tenant: TenantInfo) -> int:
    with tenant_session(tenant.id) as s:
        return s.exec(select(func.count()).select_from(PasswordResetCode)).one()


# --- the happy paths --------------------------------------------------------------------


def test_staff_reset_by_email_code(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "Staff@A.test")
    mail = smtp_sink.last_to("staff@a.test")
    assert "阳光社区诊所" in mail.subject

    assert reset(world.a, "staff", "staff@a.test", mail.code()) == {}

    assert staff_ok(world.a, "staff@a.test", NEW)
    assert not staff_ok(world.a, "staff@a.test", PASSWORD)
    assert actions(world.a)[:2] == ["auth.reset_requested", "auth.password_reset"]


def test_patient_reset_by_email(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "patient", "p@a.test")
    code = smtp_sink.last_to("p@a.test").code()

    assert reset(world.a, "patient", "p@a.test", code) == {}
    assert patient_ok(world.a, "13800000001", NEW)


def test_patient_reset_by_phone_falls_back_to_email_when_the_tenant_sends_no_texts(
    world: World, smtp_sink: MailSink
) -> None:
    # given a tenant without an SMS provider (the default) and a patient with an email
    request(world.a, "patient", "138 0000 0001")

    code = smtp_sink.last_to("p@a.test").code()
    assert reset(world.a, "patient", "13800000001", code) == {}
    assert patient_ok(world.a, "p@a.test", NEW)


@pytest.fixture
def sms_box(world: World) -> Iterator[list[dict[str, str]]]:
    """A tiny SMS provider on a local port; tenant A is set up to text through it."""
    received: list[dict[str, str]] = []

    async def messages(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"id": f"sms-{len(received)}"})

    with serve_app(Starlette(routes=[Route("/messages", messages, methods=["POST"])])) as url:
        with tenant_session(world.a.id) as s:
            update_messaging_settings(
                session=s,
                actor=world.admin_a,
                email_enabled=True,
                email_from_name="",
                sms_enabled=True,
                sms_provider_url=url,
                sms_sender="SUNSHINE",
                quiet_start="21:00",
                quiet_end="08:00",
                daily_cap=3,
                marketing_default=True,
                sms_api_key="key",
                sms_webhook_secret="secret",
            )
        yield received


def sms_code(box: list[dict[str, str]], phone: str) -> str:
    """The code in the newest text to ``phone``."""
    sent = [m["text"] for m in box if m["to"] == phone]
    assert sent, f"no SMS to {phone}: {box}"
    m = re.search(r"\b(\d{6})\b", sent[-1])
    assert m
    return m.group(1)


def test_patient_reset_by_phone_goes_by_sms_when_the_tenant_sends_texts(
    world: World, smtp_sink: MailSink, sms_box: list[dict[str, str]]
) -> None:
    request(world.a, "patient", "138 0000 0001")

    assert smtp_sink.messages == []  # the phone was given, so the code goes to the phone
    code = sms_code(sms_box, "+8613800000001")
    assert reset(world.a, "patient", "13800000001", code) == {}
    assert patient_ok(world.a, "p@a.test", NEW)


def test_patient_without_email_gets_an_sms(
    world: World, smtp_sink: MailSink, sms_box: list[dict[str, str]]
) -> None:
    make_patient(world.a, phone="+8613500000005")
    request(world.a, "patient", "+86 135 0000 0005")
    assert reset(world.a, "patient", "13500000005", sms_code(sms_box, "+8613500000005")) == {}


def test_reset_signs_the_account_out_everywhere(world: World, smtp_sink: MailSink) -> None:
    with tenant_session(world.a.id) as s:
        token = login_staff(session=s, email="staff@a.test", password=PASSWORD).token
    request(world.a, "staff", "staff@a.test")

    reset(world.a, "staff", "staff@a.test", smtp_sink.last_to("staff@a.test").code())

    with tenant_session(world.a.id) as s:
        assert resolve_session(session=s, token=token, kind=PrincipalKind.STAFF) is None


# --- the answer never tells whether the account exists ----------------------------------


@pytest.mark.parametrize(
    ("kind", "identifier"),
    [
        ("staff", "ghost@a.test"),
        ("patient", "13999999999"),
        ("patient", "ghost@a.test"),
        ("operator", "ops@platform.test"),
        ("nonsense", "staff@a.test"),
        ("staff", ""),
    ],
)
def test_unknown_accounts_get_the_same_silent_answer(
    world: World, smtp_sink: MailSink, kind: str, identifier: str
) -> None:
    request(world.a, kind, identifier)  # returns None like for a known account

    assert smtp_sink.messages == []
    assert codes(world.a) == 0
    assert reset(world.a, kind, identifier, "123456") == INVALID


def test_unknown_account_attempts_are_audited(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "ghost@a.test")
    with tenant_session(world.a.id) as s:
        ev = s.exec(select(AuditEvent)).one()
    assert (ev.action, ev.actor_kind, ev.actor_label, ev.ip) == (
        "auth.reset_unknown",
        "anonymous",
        "ghost@a.test",
        "10.4.4.4",
    )


def test_password_checks_do_not_reveal_whether_the_account_exists(
    world: World, smtp_sink: MailSink
) -> None:
    # Given a patient with both an email and a phone, and an account that does not exist
    make_patient(world.a, phone="+8613600000006", email="zhangsan@example.cn")
    # When each is sent a password built from the patient's own email
    known = reset(world.a, "patient", "13600000006", "123456", password="Zhangsan2024")
    unknown = reset(world.a, "patient", "13600000007", "123456", password="Zhangsan2024")
    # Then both get the same answer
    assert known == unknown


def test_disabled_accounts_get_no_code(world: World, smtp_sink: MailSink) -> None:
    make_staff(world.a, email="gone@a.test", status=AccountStatus.DISABLED)
    request(world.a, "staff", "gone@a.test")
    assert smtp_sink.messages == []


def test_a_code_does_not_revive_an_account_disabled_after_it_was_sent(
    world: World, smtp_sink: MailSink
) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    with tenant_session(world.a.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.id) == world.staff_a.id)  # type: ignore[call-overload]
            .values(status=AccountStatus.DISABLED)
        )

    assert reset(world.a, "staff", "staff@a.test", code) == INVALID


# --- codes: tries, expiry, single use ---------------------------------------------------


def test_wrong_codes_are_counted_and_five_is_the_limit(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for n in range(1, MAX_TRIES + 1):
        assert reset(world.a, "staff", "staff@a.test", wrong) == INVALID
        with tenant_session(world.a.id) as s:
            assert s.exec(select(PasswordResetCode.attempts)).one() == n

    # Then even the right code no longer works
    assert reset(world.a, "staff", "staff@a.test", code) == INVALID
    assert staff_ok(world.a, "staff@a.test", PASSWORD)
    assert actions(world.a).count("auth.reset_failed") == MAX_TRIES


def test_a_right_code_after_a_few_wrong_ones_works(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    for _ in range(MAX_TRIES - 1):
        reset(world.a, "staff", "staff@a.test", "000000" if code != "000000" else "111111")
    assert reset(world.a, "staff", "staff@a.test", f" {code} ") == {}


def test_codes_expire(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    with tenant_session(world.a.id) as s:
        row = s.exec(select(PasswordResetCode)).one()
        assert abs(row.expires_at - (row.created_at + CODE_TTL)) < timedelta(seconds=1)
        s.exec(
            update(PasswordResetCode).values(  # type: ignore[call-overload]
                expires_at=utcnow() - timedelta(seconds=1)
            )
        )

    assert reset(world.a, "staff", "staff@a.test", code) == INVALID
    assert staff_ok(world.a, "staff@a.test", PASSWORD)


def test_a_code_works_once(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    assert reset(world.a, "staff", "staff@a.test", code) == {}

    assert reset(world.a, "staff", "staff@a.test", code, password="Another2025go") == INVALID
    assert staff_ok(world.a, "staff@a.test", NEW)


def test_a_new_code_invalidates_the_old_one(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    old = smtp_sink.last_to("staff@a.test").code()
    request(world.a, "staff", "staff@a.test")
    new = smtp_sink.last_to("staff@a.test").code()

    if old != new:  # one in a million they are equal
        assert reset(world.a, "staff", "staff@a.test", old) == INVALID
    assert reset(world.a, "staff", "staff@a.test", new) == {}


def test_codes_are_stored_hashed(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    with tenant_session(world.a.id) as s:
        row = s.exec(select(PasswordResetCode)).one()
    assert code not in row.code_hash
    assert len(row.code_hash) == 64
    assert (row.principal_kind, row.principal_id, row.tenant_id) == (
        PrincipalKind.STAFF,
        world.staff_a.id,
        world.a.id,
    )


def test_requests_are_throttled_per_hour(world: World, smtp_sink: MailSink) -> None:
    for _ in range(MAX_CODES_PER_HOUR + 2):
        request(world.a, "staff", "staff@a.test")

    assert len(smtp_sink.to("staff@a.test")) == MAX_CODES_PER_HOUR
    assert actions(world.a).count("auth.reset_throttled") == 2
    # The last code sent still works: throttled requests do not replace it
    assert reset(world.a, "staff", "staff@a.test", smtp_sink.last_to("staff@a.test").code()) == {}

    # An hour later codes can be asked for again
    with tenant_session(world.a.id) as s:
        s.exec(
            update(PasswordResetCode).values(  # type: ignore[call-overload]
                created_at=utcnow() - timedelta(minutes=61)
            )
        )
    request(world.a, "staff", "staff@a.test")
    assert len(smtp_sink.to("staff@a.test")) == MAX_CODES_PER_HOUR + 1


def test_the_throttle_is_per_account(world: World, smtp_sink: MailSink) -> None:
    for _ in range(MAX_CODES_PER_HOUR):
        request(world.a, "staff", "staff@a.test")
    request(world.a, "staff", "admin@a.test")
    assert len(smtp_sink.to("admin@a.test")) == 1


def test_new_password_is_checked(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()

    assert reset(world.a, "staff", "staff@a.test", code, password="short") == {
        "password": ("field.password_short", {"min": 8})
    }
    assert reset(world.a, "staff", "staff@a.test", code, confirm="Different1x") == {
        "password_confirm": ("field.password_mismatch", {})
    }
    # Form errors do not use up the code's tries
    with tenant_session(world.a.id) as s:
        assert s.exec(select(PasswordResetCode.attempts)).one() == 0
    assert reset(world.a, "staff", "staff@a.test", code) == {}


# --- tenants ----------------------------------------------------------------------------


def test_a_code_of_tenant_a_does_nothing_in_tenant_b(world: World, smtp_sink: MailSink) -> None:
    # Given a code for the patient in A (B has a patient with the same phone)
    request(world.a, "patient", "p@a.test")
    code = smtp_sink.last_to("p@a.test").code()

    # When it is used on B's reset page with the shared phone number or A's email
    assert reset(world.b, "patient", "13800000001", code) == INVALID
    assert reset(world.b, "patient", "p@a.test", code) == INVALID

    # Then B's patient is untouched and A's code still works in A
    assert patient_ok(world.b, "13800000001", PASSWORD)
    assert reset(world.a, "patient", "p@a.test", code) == {}


def test_asking_tenant_b_for_a_staff_member_of_a_sends_nothing(
    world: World, smtp_sink: MailSink
) -> None:
    request(world.b, "staff", "staff@a.test")
    assert smtp_sink.messages == []
    assert codes(world.a) == 0


def test_codes_of_one_tenant_are_invisible_to_another(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    assert codes(world.a) == 1
    assert codes(world.b) == 0


def test_a_suspended_tenant_refuses_resets_before_sending_anything(smtp_sink: MailSink) -> None:
    t = make_tenant("resting")
    make_staff(t, email="s@resting.test")
    t = change_status(t, TenantStatus.SUSPENDED)

    with pytest.raises(TenantReadOnly):
        request(t, "staff", "s@resting.test")
    with pytest.raises(TenantReadOnly):
        reset(t, "staff", "s@resting.test", "123456")

    assert smtp_sink.messages == []
    assert staff_ok(t, "s@resting.test", PASSWORD)


def test_mail_failure_answers_like_an_unknown_account_and_waits_in_the_outbox(
    world: World, smtp_down: None
) -> None:
    # given the mail server is down
    # when a reset is asked for an existing staff account and for an unknown one
    with tenant_session(world.a.id) as s:
        request_reset(session=s, kind="staff", identifier=world.staff_a.label)
        request_reset(session=s, kind="staff", identifier="nobody@a.test")
    # then neither raised; the code waits in the outbox for a retry, with the error
    with tenant_session(world.a.id) as s:
        actions = set(s.exec(select(AuditEvent.action)).all())
        msg = s.exec(select(Message)).one()
    assert {"auth.reset_requested", "auth.reset_unknown"} <= actions
    assert (msg.status, msg.template_key) == (MessageStatus.SCHEDULED, "account.password_reset")
    assert "SMTP" in msg.error


def test_a_sent_code_is_wiped_from_the_outbox(world: World, smtp_sink: MailSink) -> None:
    request(world.a, "staff", "staff@a.test")
    code = smtp_sink.last_to("staff@a.test").code()
    with tenant_session(world.a.id) as s:
        msg = s.exec(select(Message)).one()
    assert msg.status == MessageStatus.SENT
    assert code not in msg.variables + msg.body
