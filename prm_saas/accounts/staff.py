"""Staff management: invite, accept an invitation, change role, disable, enable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import case, col, select

from prm_saas.accounts.auth import open_session, revoke_all_sessions, staff_principal
from prm_saas.accounts.authz import ROLE_PERMISSIONS, Permission, Principal, require_staff
from prm_saas.accounts.credentials import hash_password, new_token, token_digest
from prm_saas.accounts.models import (
    AccountStatus,
    PrincipalKind,
    StaffMember,
    StaffMemberPublic,
    StaffRole,
)
from prm_saas.audit.services import record
from prm_saas.billing.limits import Resource, require_room
from prm_saas.messaging.delivery import deliver_after_commit
from prm_saas.messaging.models import Channel
from prm_saas.messaging.outbox import enqueue_to_address
from prm_saas.settings import get_settings
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.models import Tenant
from tenants.resolution import TenantInfo, tenant_base_url
from tenants.types import utcnow

INVITE_TTL = timedelta(days=7)


def list_staff(*, session: TenantSession, actor: Principal) -> list[StaffMemberPublic]:
    """All staff of the tenant, admins first, then by name."""
    require_staff(session, actor, Permission.STAFF_MANAGE)
    # Not ORDER BY role: "staff" sorts before "tenant_admin".
    admins_first = case((col(StaffMember.role) == StaffRole.TENANT_ADMIN, 0), else_=1)
    rows = session.exec(
        select(StaffMember).order_by(admins_first, col(StaffMember.name), col(StaffMember.id))
    )
    return [StaffMemberPublic.model_validate(r, from_attributes=True) for r in rows]


def _send_invite(session: TenantSession, member: StaffMember, token: str, inviter: str) -> None:
    """Put the invitation in the outbox (in the caller's transaction) and send it
    as soon as that commits; a mail server that is down gets it on retry."""
    tenant = session.get(Tenant, member.tenant_id)
    assert tenant is not None
    info = TenantInfo.of(tenant)
    url = (
        f"{tenant_base_url(info, public_url=get_settings().public_url)}/admin/accept?token={token}"
    )
    message = enqueue_to_address(
        session,
        template_key="account.staff_invite",
        channel=Channel.EMAIL,
        to_address=member.email,
        name=member.name,
        locale=member.locale or str(tenant.default_locale),
        variables={"inviter": inviter, "url": url},
        dedupe_key=f"staff-invite:{member.id}:{token_digest(token)[:16]}",
        source=f"staff:{member.id}",
    )
    deliver_after_commit(session, message)


def create_invitation(
    session: TenantSession, *, email: str, name: str, role: StaffRole, inviter: str
) -> StaffMember:
    """Insert an invited staff member and queue the invitation email (shared by
    onboarding): both are written in the caller's transaction, so neither exists
    without the other; the mail leaves once that commits, with retries."""
    token = new_token()
    now = utcnow()
    member = StaffMember(
        email=email,
        name=name,
        role=role,
        status=AccountStatus.INVITED,
        invite_token_hash=token_digest(token),
        invite_expires_at=now + INVITE_TTL,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
            _send_invite(session, member, token, inviter)
    except IntegrityError:
        raise FieldErrors.single("email", "field.email_taken_staff") from None
    return member


def invite_staff(
    *, session: TenantSession, actor: Principal, email: str, name: str, role: str, ip: str = ""
) -> StaffMemberPublic:
    """Invite a colleague by email; they set their own password from the link."""
    require_staff(session, actor, Permission.STAFF_MANAGE)
    c = Checker()
    clean_email = c.email("email", email)
    clean_name = c.text("name", name, max_len=80)
    clean_role = c.choice("role", role, list(ROLE_PERMISSIONS))
    if (
        clean_email
        and session.exec(select(StaffMember.id).where(StaffMember.email == clean_email)).first()
    ):
        c.fail("email", "field.email_taken_staff")
    c.raise_if_any()
    assert clean_email is not None
    require_room(session, Resource.STAFF)  # a seat per invitation (docs/design/billing.md)
    member = create_invitation(
        session, email=clean_email, name=clean_name, role=StaffRole(clean_role), inviter=actor.name
    )
    record(
        session,
        actor=actor,
        action="staff.invited",
        target_type="staff",
        target_id=member.id,
        ip=ip,
        details={"email": clean_email, "role": clean_role},
    )
    return StaffMemberPublic.model_validate(member, from_attributes=True)


def resend_invitation(
    *, session: TenantSession, actor: Principal, staff_id: int, ip: str = ""
) -> None:
    """Send a fresh invitation link (the old one stops working)."""
    require_staff(session, actor, Permission.STAFF_MANAGE)
    member = get_or_404(session, StaffMember, staff_id)
    if member.status != AccountStatus.INVITED:
        raise NotFound()
    token = new_token()
    # Store the new link first (a suspended tenant refuses here, before any mail
    # goes out); if the mail fails, the old link stays the valid one.
    with session.begin_nested():
        member.invite_token_hash = token_digest(token)
        member.invite_expires_at = utcnow() + INVITE_TTL
        session.add(member)
        session.flush()
        _send_invite(session, member, token, actor.name)
    record(
        session,
        actor=actor,
        action="staff.invite_resent",
        target_type="staff",
        target_id=member.id,
        ip=ip,
    )


@dataclass(frozen=True)
class InvitationView:
    """What the accept page shows before the password is set."""

    email: str
    name: str


def _invited_member(session: TenantSession, token: str) -> StaffMember:
    if not token or len(token) > 100:
        raise DomainError("auth.invite_invalid")
    member = session.exec(
        select(StaffMember).where(StaffMember.invite_token_hash == token_digest(token))
    ).first()
    if (
        member is None
        or member.status != AccountStatus.INVITED
        or member.invite_expires_at is None
        or member.invite_expires_at <= utcnow()
    ):
        raise DomainError("auth.invite_invalid")
    return member


def view_invitation(*, session: TenantSession, token: str) -> InvitationView:
    """The invitation behind a link, or auth.invite_invalid."""
    m = _invited_member(session, token)
    return InvitationView(email=m.email, name=m.name)


def activate_invited(member: StaffMember, now: datetime) -> None:
    """An invited member becomes active; the emailed link stops working."""
    member.status = AccountStatus.ACTIVE
    member.invite_token_hash = None
    member.invite_expires_at = None
    member.updated_at = now


def accept_invitation(
    *,
    session: TenantSession,
    token: str,
    name: str,
    password: str,
    password_confirm: str,
    ip: str = "",
    user_agent: str = "",
) -> tuple[Principal, str]:
    """Set a password from an invitation link; returns the signed-in principal and token."""
    member = _invited_member(session, token)
    c = Checker()
    clean_name = c.text("name", name, max_len=80)
    c.password("password", password, personal=(member.email,))
    if password != password_confirm:
        c.fail("password_confirm", "field.password_mismatch")
    c.raise_if_any()
    now = utcnow()
    member.name = clean_name
    member.password_hash = hash_password(password)
    activate_invited(member, now)
    member.last_login_at = now
    session.add(member)
    principal = staff_principal(member)
    session_token = open_session(session, principal, ip=ip, user_agent=user_agent)
    record(
        session,
        actor=principal,
        action="staff.invite_accepted",
        target_type="staff",
        target_id=member.id,
        ip=ip,
    )
    return principal, session_token


def _other_active_admins(session: TenantSession, member_id: int) -> int:
    # Lock every active admin row, the target's too: two admins disabling or
    # demoting each other at the same moment then queue up, and the second one
    # sees the first one's change (and is refused) instead of both succeeding
    # and leaving the tenant with no admin.
    ids = session.exec(
        select(StaffMember.id)
        .where(
            StaffMember.role == StaffRole.TENANT_ADMIN,
            StaffMember.status == AccountStatus.ACTIVE,
        )
        .with_for_update()
    ).all()
    return sum(1 for i in ids if i != member_id)


def _managed_member(session: TenantSession, actor: Principal, staff_id: int) -> StaffMember:
    require_staff(session, actor, Permission.STAFF_MANAGE)
    member = get_or_404(session, StaffMember, staff_id)
    if member.id == actor.id:
        raise DomainError("auth.not_self")
    return member


def change_role(
    *, session: TenantSession, actor: Principal, staff_id: int, role: str, ip: str = ""
) -> StaffMemberPublic:
    """Give a staff member another role (the last admin cannot be demoted)."""
    member = _managed_member(session, actor, staff_id)
    c = Checker()
    new_role = c.choice("role", role, list(ROLE_PERMISSIONS))
    c.raise_if_any()
    old_role = str(member.role)
    if old_role == new_role:
        return StaffMemberPublic.model_validate(member, from_attributes=True)
    if (
        old_role == StaffRole.TENANT_ADMIN
        and member.status == AccountStatus.ACTIVE
        and _other_active_admins(session, staff_id) == 0
    ):
        raise DomainError("auth.last_admin")
    member.role = StaffRole(new_role)
    member.updated_at = utcnow()
    session.add(member)
    record(
        session,
        actor=actor,
        action="staff.role_changed",
        target_type="staff",
        target_id=member.id,
        ip=ip,
        details={"from": old_role, "to": new_role},
    )
    return StaffMemberPublic.model_validate(member, from_attributes=True)


def set_staff_enabled(
    *, session: TenantSession, actor: Principal, staff_id: int, enabled: bool, ip: str = ""
) -> StaffMemberPublic:
    """Disable a staff member (signing them out everywhere) or enable them again."""
    member = _managed_member(session, actor, staff_id)
    if enabled == (member.status != AccountStatus.DISABLED):
        # Already so: nothing to change, nothing to audit.
        return StaffMemberPublic.model_validate(member, from_attributes=True)
    if enabled:
        require_room(session, Resource.STAFF)  # enabling takes a seat again
        member.status = (
            AccountStatus.ACTIVE
            if member.password_hash or member.sso_subject
            else AccountStatus.INVITED
        )
    else:
        if (
            member.role == StaffRole.TENANT_ADMIN
            and member.status == AccountStatus.ACTIVE
            and _other_active_admins(session, staff_id) == 0
        ):
            raise DomainError("auth.last_admin")
        member.status = AccountStatus.DISABLED
        member.invite_token_hash = None
        assert member.id is not None
        revoke_all_sessions(session, kind=PrincipalKind.STAFF, principal_id=member.id)
    member.updated_at = utcnow()
    session.add(member)
    record(
        session,
        actor=actor,
        action="staff.enabled" if enabled else "staff.disabled",
        target_type="staff",
        target_id=member.id,
        ip=ip,
    )
    return StaffMemberPublic.model_validate(member, from_attributes=True)


def set_my_staff_locale(*, session: TenantSession, actor: Principal, locale: str) -> None:
    """Remember a staff member's language choice."""
    require_staff(session, actor)
    c = Checker()
    loc = c.locale("locale", locale)
    c.raise_if_any()
    member = get_or_404(session, StaffMember, actor.id)
    member.locale = loc
    session.add(member)
