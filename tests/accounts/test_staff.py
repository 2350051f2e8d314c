"""Staff management: invite, accept, change role, disable, enable (prm_saas.accounts.staff)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select, update

from prm_saas.accounts.auth import login_staff, resolve_session
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import AccountStatus, PrincipalKind, StaffMember, StaffRole
from prm_saas.accounts.staff import (
    INVITE_TTL,
    accept_invitation,
    change_role,
    invite_staff,
    list_staff,
    resend_invitation,
    set_my_staff_locale,
    set_staff_enabled,
    view_invitation,
)
from prm_saas.audit.models import AuditEvent
from prm_saas.billing.console import suspend_tenant
from prm_saas.messaging.models import Message, MessageStatus
from tenants.db import platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied, TenantReadOnly
from tenants.models import TenantStatus
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.factories import (
    PASSWORD,
    World,
    change_status,
    make_admin,
    make_operator,
    make_staff,
    make_tenant,
)
from tests.smtp_sink import MailSink

NEW_PASSWORD = "Welcome2clinic"


def invite(
    tenant: TenantInfo,
    actor: Principal,
    email: str = "new@a.test",
    name: str = "李医生",
    role: str = "staff",
) -> Any:
    with tenant_session(tenant.id) as s:
        return invite_staff(
            session=s, actor=actor, email=email, name=name, role=role, ip="10.2.2.2"
        )


def accept(
    tenant: TenantInfo,
    token: str,
    password: str = NEW_PASSWORD,
    confirm: str | None = None,
    name: str = "李医生",
) -> tuple[Principal, str]:
    with tenant_session(tenant.id) as s:
        return accept_invitation(
            session=s,
            token=token,
            name=name,
            password=password,
            password_confirm=password if confirm is None else confirm,
        )


def member(tenant: TenantInfo, staff_id: int) -> StaffMember:
    with tenant_session(tenant.id) as s:
        return s.exec(select(StaffMember).where(StaffMember.id == staff_id)).one()


def staff_rows(tenant: TenantInfo) -> int:
    with tenant_session(tenant.id) as s:
        return s.exec(select(func.count()).select_from(StaffMember)).one()


def actions(tenant: TenantInfo) -> list[str]:
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def can_sign_in(tenant: TenantInfo, email: str, password: str = PASSWORD) -> str:
    """'' when the sign-in works, else its error key."""
    with tenant_session(tenant.id) as s:
        out = login_staff(session=s, email=email, password=password)
    return "" if out.ok else out.error_key


# --- list -------------------------------------------------------------------------------


def test_list_staff_shows_this_tenant_only_admins_first(world: World) -> None:
    make_staff(world.a, name="Aaron")  # sorts before the admin's name
    second_admin = make_admin(world.a, name="Zoe")

    with tenant_session(world.a.id) as s:
        rows = list_staff(session=s, actor=world.admin_a)

    assert {r.email for r in rows} >= {"admin@a.test", "staff@a.test"}
    assert not {r.email for r in rows} & {"admin@b.test", "staff@b.test"}
    roles = [r.role for r in rows]
    assert roles == sorted(roles, key=lambda r: r != StaffRole.TENANT_ADMIN)
    assert {r.id for r in rows[:2]} == {world.admin_a.id, second_admin.id}
    assert not hasattr(rows[0], "password_hash")


def test_list_staff_needs_staff_manage_in_this_tenant(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            list_staff(session=s, actor=world.staff_a)
        with pytest.raises(PermissionDenied):
            list_staff(session=s, actor=world.patient_a)
        with pytest.raises(NotFound):
            list_staff(session=s, actor=world.admin_b)
        with pytest.raises(NotFound):
            list_staff(session=s, actor=world.operator)


# --- invite -----------------------------------------------------------------------------


def test_invitation_is_emailed_with_a_link_into_the_tenant(
    world: World, smtp_sink: MailSink
) -> None:
    created = invite(world.a, world.admin_a, email="New.Doctor@A.test", role="tenant_admin")

    assert (created.email, created.status, created.role) == (
        "new.doctor@a.test",
        AccountStatus.INVITED,
        StaffRole.TENANT_ADMIN,
    )
    mail = smtp_sink.last_to("new.doctor@a.test")
    assert len(smtp_sink.messages) == 1
    assert mail.to == "new.doctor@a.test"
    assert "阳光社区诊所" in mail.subject  # the tenant's name, in its default language
    assert world.admin_a.name in mail.body
    assert "/t/clinic-a/admin/accept?token=" in mail.body
    token = mail.accept_token()
    with tenant_session(world.a.id) as s:
        seen = view_invitation(session=s, token=token)
    assert (seen.email, seen.name) == ("new.doctor@a.test", "李医生")
    row = member(world.a, created.id)
    assert row.password_hash is None
    assert row.invite_token_hash
    assert token not in row.invite_token_hash
    assert row.invite_expires_at is not None
    assert abs(row.invite_expires_at - (utcnow() + INVITE_TTL)) < timedelta(minutes=1)


def test_invitation_is_audited(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a)
    with tenant_session(world.a.id) as s:
        ev = s.exec(select(AuditEvent)).one()
    assert (ev.action, ev.actor_id, ev.target_type, ev.target_id, ev.ip) == (
        "staff.invited",
        world.admin_a.id,
        "staff",
        str(created.id),
        "10.2.2.2",
    )
    assert json.loads(ev.details) == {"email": "new@a.test", "role": "staff"}


def test_invitation_in_an_english_tenant_is_in_english(smtp_sink: MailSink) -> None:
    t = make_tenant("sunrise", name="Sunrise Clinic", default_locale="en")
    admin = make_admin(t)
    invite(t, admin, email="doc@sunrise.test")
    mail = smtp_sink.last_to("doc@sunrise.test")
    assert mail.subject == "[Sunrise Clinic] You are invited to join the staff"
    assert "/t/sunrise/admin/accept?token=" in mail.body


def test_a_tenant_name_with_a_line_break_still_gives_a_one_line_subject(
    smtp_sink: MailSink,
) -> None:
    t = make_tenant("two-lines", name="Sunrise\r\nBcc: victim@example.cn")
    admin = make_admin(t)
    invite(t, admin, email="doc@two.test")
    mail = smtp_sink.last_to("doc@two.test")
    assert mail.message["Bcc"] is None
    assert mail.subject.startswith("【Sunrise Bcc: victim@example.cn】")
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["doc@two.test"]]


def test_only_admins_invite(world: World, smtp_sink: MailSink) -> None:
    with pytest.raises(PermissionDenied):
        invite(world.a, world.staff_a)
    with pytest.raises(PermissionDenied):
        invite(world.a, world.patient_a)
    with pytest.raises(NotFound):
        invite(world.a, world.admin_b)
    assert smtp_sink.messages == []
    assert staff_rows(world.a) == 2


@pytest.mark.parametrize("email", ["staff@a.test", "STAFF@a.test ", "admin@a.test"])
def test_inviting_an_existing_staff_email_is_refused(
    world: World, smtp_sink: MailSink, email: str
) -> None:
    with pytest.raises(FieldErrors) as exc:
        invite(world.a, world.admin_a, email=email)
    assert exc.value.errors == {"email": ("field.email_taken_staff", {})}
    assert smtp_sink.messages == []


def test_an_email_of_another_tenants_staff_is_free_here(world: World, smtp_sink: MailSink) -> None:
    invite(world.a, world.admin_a, email="staff@b.test")
    assert smtp_sink.last_to("staff@b.test")


def test_inviting_the_same_email_twice_is_refused(world: World, smtp_sink: MailSink) -> None:
    invite(world.a, world.admin_a)
    with pytest.raises(FieldErrors):
        invite(world.a, world.admin_a)
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"email": "nope"}, {"email": "field.email_invalid"}),
        ({"email": ""}, {"email": "field.required"}),
        ({"name": ""}, {"name": "field.required"}),
        ({"role": "operator"}, {"role": "field.choice_invalid"}),
        ({"role": ""}, {"role": "field.choice_invalid"}),
    ],
)
def test_invitation_fields_are_checked(
    world: World, smtp_sink: MailSink, kw: dict[str, str], expected: dict[str, str]
) -> None:
    with pytest.raises(FieldErrors) as exc:
        invite(world.a, world.admin_a, **kw)
    assert {f: k for f, (k, _p) in exc.value.errors.items()} == expected


def test_mail_down_keeps_the_invitation_and_queues_its_mail_for_retry(
    world: World, smtp_down: None
) -> None:
    # when the mail server is down at invitation time
    created = invite(world.a, world.admin_a)
    # then the invitation exists and its mail waits in the outbox with the error
    assert member(world.a, created.id).status == AccountStatus.INVITED
    with tenant_session(world.a.id) as s:
        msg = s.exec(select(Message)).one()
    assert (msg.template_key, msg.status, msg.to_address) == (
        "account.staff_invite",
        MessageStatus.SCHEDULED,
        "new@a.test",
    )
    assert "SMTP" in msg.error


def test_a_refused_invitation_writes_no_mail(world: World, smtp_sink: MailSink) -> None:
    with pytest.raises(FieldErrors):
        invite(world.a, world.admin_a, email=world.staff_a.label)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Message)).all() == []
    assert smtp_sink.messages == []


def test_suspended_tenant_cannot_invite_but_can_still_sign_in(
    world: World, smtp_sink: MailSink
) -> None:
    t = make_tenant("on-hold")
    admin = make_admin(t, email="boss@hold.test")
    t = change_status(t, TenantStatus.SUSPENDED)

    with pytest.raises(TenantReadOnly):
        invite(t, admin, email="new@hold.test")

    assert smtp_sink.messages == []
    assert staff_rows(t) == 1
    assert can_sign_in(t, "boss@hold.test") == ""


# --- accept -----------------------------------------------------------------------------


def test_accepting_sets_the_password_and_signs_in(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a)
    token = smtp_sink.last_to("new@a.test").accept_token()

    principal, session_token = accept(world.a, token, name="李明医生")

    assert (principal.id, principal.kind, principal.tenant_id, principal.role, principal.name) == (
        created.id,
        PrincipalKind.STAFF,
        world.a.id,
        "staff",
        "李明医生",
    )
    with tenant_session(world.a.id) as s:
        assert (
            resolve_session(session=s, token=session_token, kind=PrincipalKind.STAFF) == principal
        )
    row = member(world.a, created.id)
    assert (row.status, row.invite_token_hash, row.invite_expires_at) == (
        AccountStatus.ACTIVE,
        None,
        None,
    )
    assert actions(world.a)[-1] == "staff.invite_accepted"
    assert can_sign_in(world.a, "new@a.test", NEW_PASSWORD) == ""


def test_an_invitation_link_works_once(world: World, smtp_sink: MailSink) -> None:
    invite(world.a, world.admin_a)
    token = smtp_sink.last_to("new@a.test").accept_token()
    accept(world.a, token)

    with pytest.raises(DomainError) as exc:
        accept(world.a, token, password="Another2pass")
    assert exc.value.key == "auth.invite_invalid"
    assert can_sign_in(world.a, "new@a.test", NEW_PASSWORD) == ""


@pytest.mark.parametrize("token", ["", "bogus", "x" * 500])
def test_bad_invitation_tokens_are_refused(world: World, token: str) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        view_invitation(session=s, token=token)
    assert exc.value.key == "auth.invite_invalid"
    with pytest.raises(DomainError) as exc2:
        accept(world.a, token)
    assert exc2.value.key == "auth.invite_invalid"


def test_an_expired_invitation_is_refused(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a)
    token = smtp_sink.last_to("new@a.test").accept_token()
    with tenant_session(world.a.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.id) == created.id)  # type: ignore[call-overload]
            .values(invite_expires_at=utcnow() - timedelta(seconds=1))
        )

    with pytest.raises(DomainError) as exc:
        accept(world.a, token)

    assert exc.value.key == "auth.invite_invalid"
    assert member(world.a, created.id).status == AccountStatus.INVITED


def test_an_invitation_of_tenant_a_does_nothing_on_tenant_b(
    world: World, smtp_sink: MailSink
) -> None:
    invite(world.a, world.admin_a)
    token = smtp_sink.last_to("new@a.test").accept_token()

    with pytest.raises(DomainError) as exc:
        accept(world.b, token)

    assert exc.value.key == "auth.invite_invalid"
    assert staff_rows(world.b) == 2


def test_accepting_checks_the_password(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a, email="lidoctor@a.test")
    token = smtp_sink.last_to("lidoctor@a.test").accept_token()

    with pytest.raises(FieldErrors) as weak:
        accept(world.a, token, password="weak")
    with pytest.raises(FieldErrors) as mismatch:
        accept(world.a, token, confirm=NEW_PASSWORD + "!")
    with pytest.raises(FieldErrors) as personal:
        accept(world.a, token, password="Lidoctor2024")

    assert weak.value.errors == {"password": ("field.password_short", {"min": 8})}
    assert mismatch.value.errors == {"password_confirm": ("field.password_mismatch", {})}
    assert personal.value.errors == {"password": ("field.password_personal", {})}
    # The link still works after the failed tries
    assert member(world.a, created.id).status == AccountStatus.INVITED
    assert accept(world.a, token)[0].id == created.id


def test_resending_an_invitation_replaces_the_link(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a)
    old = smtp_sink.last_to("new@a.test").accept_token()

    with tenant_session(world.a.id) as s:
        resend_invitation(session=s, actor=world.admin_a, staff_id=created.id)

    new = smtp_sink.last_to("new@a.test").accept_token()
    assert new != old
    assert len(smtp_sink.to("new@a.test")) == 2
    with pytest.raises(DomainError):
        accept(world.a, old)
    assert accept(world.a, new)[0].id == created.id
    assert "staff.invite_resent" in actions(world.a)


def test_resending_is_for_invited_members_of_this_tenant_only(
    world: World, smtp_sink: MailSink
) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(NotFound):  # already active
            resend_invitation(session=s, actor=world.admin_a, staff_id=world.staff_a.id)
        with pytest.raises(NotFound):  # another tenant's member
            resend_invitation(session=s, actor=world.admin_a, staff_id=world.staff_b.id)
        with pytest.raises(PermissionDenied):
            resend_invitation(session=s, actor=world.staff_a, staff_id=world.staff_a.id)
    assert smtp_sink.messages == []


def test_resending_in_a_suspended_tenant_sends_nothing(smtp_sink: MailSink) -> None:
    t = make_tenant("frozen")
    admin = make_admin(t)
    invited = make_staff(t, email="later@frozen.test", status=AccountStatus.INVITED)
    with tenant_session(t.id) as s:
        s.exec(
            update(StaffMember)
            .where(col(StaffMember.id) == invited.id)  # type: ignore[call-overload]
            .values(password_hash=None)
        )
    with platform_session() as s:
        suspend_tenant(session=s, actor=make_operator(), tenant_id=t.id, reason="欠费")

    with pytest.raises(TenantReadOnly), tenant_session(t.id) as s:
        resend_invitation(session=s, actor=admin, staff_id=invited.id)

    assert smtp_sink.messages == []


# --- role, disable, enable --------------------------------------------------------------


def test_admin_changes_a_role_and_it_is_audited(world: World) -> None:
    with tenant_session(world.a.id) as s:
        out = change_role(
            session=s,
            actor=world.admin_a,
            staff_id=world.staff_a.id,
            role="tenant_admin",
            ip="10.3.3.3",
        )
    assert out.role == StaffRole.TENANT_ADMIN
    assert member(world.a, world.staff_a.id).role == StaffRole.TENANT_ADMIN
    with tenant_session(world.a.id) as s:
        ev = s.exec(select(AuditEvent)).one()
    assert (ev.action, ev.target_id, ev.ip) == (
        "staff.role_changed",
        str(world.staff_a.id),
        "10.3.3.3",
    )
    assert json.loads(ev.details) == {"from": "staff", "to": "tenant_admin"}


def test_setting_the_same_role_changes_nothing(world: World) -> None:
    with tenant_session(world.a.id) as s:
        change_role(session=s, actor=world.admin_a, staff_id=world.staff_a.id, role="staff")
    assert actions(world.a) == []


def test_role_changes_are_checked(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            change_role(session=s, actor=world.staff_a, staff_id=world.admin_a.id, role="staff")
        with pytest.raises(DomainError) as self_exc:
            change_role(session=s, actor=world.admin_a, staff_id=world.admin_a.id, role="staff")
        with pytest.raises(FieldErrors):
            change_role(session=s, actor=world.admin_a, staff_id=world.staff_a.id, role="root")
    assert self_exc.value.key == "auth.not_self"
    assert member(world.a, world.admin_a.id).role == StaffRole.TENANT_ADMIN


def test_ids_of_another_tenant_look_exactly_like_missing_ids(world: World) -> None:
    errors = []
    with tenant_session(world.a.id) as s:
        for staff_id in (world.staff_b.id, world.admin_b.id, 987_654):
            with pytest.raises(NotFound) as e1:
                change_role(session=s, actor=world.admin_a, staff_id=staff_id, role="tenant_admin")
            with pytest.raises(NotFound) as e2:
                set_staff_enabled(session=s, actor=world.admin_a, staff_id=staff_id, enabled=False)
            errors += [(e1.value.key, e1.value.params), (e2.value.key, e2.value.params)]
    assert len(errors) == 6
    assert all(e == ("error.not_found", {}) for e in errors)
    assert member(world.b, world.staff_b.id).status == AccountStatus.ACTIVE
    assert member(world.b, world.staff_b.id).role == StaffRole.STAFF


def test_another_tenants_admin_cannot_manage_staff_here(world: World) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        set_staff_enabled(session=s, actor=world.admin_b, staff_id=world.staff_a.id, enabled=False)
    assert member(world.a, world.staff_a.id).status == AccountStatus.ACTIVE


def test_disabling_signs_the_member_out_everywhere(world: World) -> None:
    with tenant_session(world.a.id) as s:
        out = login_staff(session=s, email="staff@a.test", password=PASSWORD)
    with tenant_session(world.a.id) as s:
        view = set_staff_enabled(
            session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=False
        )

    assert view.status == AccountStatus.DISABLED
    with tenant_session(world.a.id) as s:
        assert resolve_session(session=s, token=out.token, kind=PrincipalKind.STAFF) is None
    assert actions(world.a)[-1] == "staff.disabled"
    assert can_sign_in(world.a, "staff@a.test") == "auth.disabled"


def test_enabling_again_restores_sign_in(world: World) -> None:
    with tenant_session(world.a.id) as s:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=False)
    with tenant_session(world.a.id) as s:
        view = set_staff_enabled(
            session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=True
        )
    assert view.status == AccountStatus.ACTIVE
    assert can_sign_in(world.a, "staff@a.test") == ""
    assert actions(world.a) == ["staff.disabled", "staff.enabled", "auth.login"]


def test_enabling_an_enabled_member_changes_nothing(world: World) -> None:
    with tenant_session(world.a.id) as s:
        view = set_staff_enabled(
            session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=True
        )
    assert view.status == AccountStatus.ACTIVE
    assert actions(world.a) == []


def test_a_disabled_invitee_comes_back_as_invited(world: World, smtp_sink: MailSink) -> None:
    created = invite(world.a, world.admin_a)
    token = smtp_sink.last_to("new@a.test").accept_token()
    with tenant_session(world.a.id) as s:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=created.id, enabled=False)
    # The old link is dead once the invitee is disabled
    with pytest.raises(DomainError):
        accept(world.a, token)
    with tenant_session(world.a.id) as s:
        view = set_staff_enabled(session=s, actor=world.admin_a, staff_id=created.id, enabled=True)
    assert view.status == AccountStatus.INVITED


def test_nobody_disables_themselves(world: World) -> None:
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as exc:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=world.admin_a.id, enabled=False)
    assert exc.value.key == "auth.not_self"
    assert can_sign_in(world.a, "admin@a.test") == ""


def test_the_last_admin_is_never_demoted_or_disabled(world: World) -> None:
    # Given two admins; the second demotes the first
    second = make_admin(world.a, email="second@a.test")
    with tenant_session(world.a.id) as s:
        change_role(session=s, actor=second, staff_id=world.admin_a.id, role="staff")

    # When the first acts on a principal resolved before the demotion (e.g. an
    # event already in flight) and tries to remove the only admin left
    stale = world.admin_a
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as demote:
        change_role(session=s, actor=stale, staff_id=second.id, role="staff")
    with tenant_session(world.a.id) as s, pytest.raises(DomainError) as disable:
        set_staff_enabled(session=s, actor=stale, staff_id=second.id, enabled=False)

    # Then the tenant keeps its admin
    assert demote.value.key == "auth.last_admin"
    assert disable.value.key == "auth.last_admin"
    row = member(world.a, second.id)
    assert (row.role, row.status) == (StaffRole.TENANT_ADMIN, AccountStatus.ACTIVE)


def test_a_non_last_admin_can_be_disabled(world: World) -> None:
    second = make_admin(world.a, email="second@a.test")
    with tenant_session(world.a.id) as s:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=second.id, enabled=False)
    assert member(world.a, second.id).status == AccountStatus.DISABLED


@pytest.mark.postgres_only
def test_two_admins_disabling_each_other_at_once_leave_one_admin(world: World) -> None:
    second = make_admin(world.a, email="second@a.test")
    first_holds_lock = threading.Event()
    outcome: dict[str, str] = {}

    def second_disables_first() -> None:
        first_holds_lock.wait(5)
        try:
            with tenant_session(world.a.id) as s:
                set_staff_enabled(session=s, actor=second, staff_id=world.admin_a.id, enabled=False)
            outcome["second"] = "ok"
        except DomainError as exc:
            outcome["second"] = exc.key

    t = threading.Thread(target=second_disables_first)
    t.start()
    with tenant_session(world.a.id) as s:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=second.id, enabled=False)
        first_holds_lock.set()
        t.join(0.5)  # the other transaction must wait for this one
        assert t.is_alive()
    t.join(10)

    assert outcome == {"second": "auth.last_admin"}
    with tenant_session(world.a.id) as s:
        admins = s.exec(
            select(StaffMember.id).where(
                StaffMember.role == StaffRole.TENANT_ADMIN,
                StaffMember.status == AccountStatus.ACTIVE,
            )
        ).all()
    assert admins == [world.admin_a.id]


def test_staff_set_their_own_language(world: World) -> None:
    with tenant_session(world.a.id) as s:
        set_my_staff_locale(session=s, actor=world.staff_a, locale="en")
        with pytest.raises(FieldErrors):
            set_my_staff_locale(session=s, actor=world.staff_a, locale="de")
        with pytest.raises(PermissionDenied):
            set_my_staff_locale(session=s, actor=world.patient_a, locale="en")
    assert member(world.a, world.staff_a.id).locale == "en"
