"""Accounts: platform operators, tenant staff, patients, sessions, reset codes, SSO."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tenants.models import TenantScoped, ts_field


class PrincipalKind(enum.StrEnum):
    """Who is acting."""

    OPERATOR = "operator"
    STAFF = "staff"
    PATIENT = "patient"


class StaffRole(enum.StrEnum):
    """Tenant staff roles. Permissions per role are in accounts.authz."""

    TENANT_ADMIN = "tenant_admin"
    STAFF = "staff"


class AccountStatus(enum.StrEnum):
    """Lifecycle of an account."""

    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class Sex(enum.StrEnum):
    """Sex as recorded for health checks (package targeting uses it)."""

    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


# --- platform ---------------------------------------------------------------


class Operator(SQLModel, table=True):
    """A platform operator (平台运营). Not tenant-scoped."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=80)
    password_hash: str = Field(max_length=200)
    status: AccountStatus = Field(default=AccountStatus.ACTIVE, sa_type=sa.String(10))
    locale: str | None = Field(default=None, max_length=8)
    created_at: datetime = ts_field()
    last_login_at: datetime | None = ts_field(nullable=True, default_now=False)


# --- tenant staff -------------------------------------------------------------


class StaffMemberBase(SQLModel):
    """Fields staff management edits."""

    email: str = Field(max_length=254)
    name: str = Field(max_length=80)
    role: StaffRole = Field(default=StaffRole.STAFF, sa_type=sa.String(20))


class StaffMember(StaffMemberBase, TenantScoped, table=True):
    """A clinic employee with a role in one tenant."""

    __tablename__ = "staff_member"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "email", name="uq_staff_tenant_email"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str | None = Field(default=None, max_length=20)
    status: AccountStatus = Field(default=AccountStatus.INVITED, sa_type=sa.String(10))
    password_hash: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=8)
    invite_token_hash: str | None = Field(default=None, max_length=64, index=True)
    invite_expires_at: datetime | None = ts_field(nullable=True, default_now=False)
    sso_subject: str | None = Field(default=None, max_length=255)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    last_login_at: datetime | None = ts_field(nullable=True, default_now=False)


class StaffMemberPublic(StaffMemberBase):
    """What the staff list shows."""

    id: int
    status: AccountStatus
    last_login_at: datetime | None
    created_at: datetime


# --- patients -----------------------------------------------------------------


class PatientBase(SQLModel):
    """Fields a patient gives at registration."""

    name: str = Field(max_length=80)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    sex: Sex = Field(default=Sex.UNKNOWN, sa_type=sa.String(8))
    birth_date: date | None = None


class Patient(PatientBase, TenantScoped, table=True):
    """A patient (member) of one tenant; the same person in another tenant is another row."""

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "phone", name="uq_patient_tenant_phone"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_patient_tenant_email"),
        # Patient lists show a tenant's newest first: with this index a page reads
        # its 20 rows, however many patients the tenant has (docs/benchmarks.md).
        # Birth date and sex ride along so the dashboard's demographics read the
        # index alone (PostgreSQL).
        sa.Index(
            "ix_patient_tenant_created_at",
            "tenant_id",
            "created_at",
            postgresql_include=["birth_date", "sex"],
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=200)
    status: AccountStatus = Field(default=AccountStatus.ACTIVE, sa_type=sa.String(10))
    locale: str | None = Field(default=None, max_length=8)
    # Where the patient lives, if not in the tenant's zone (quiet hours use it).
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    last_login_at: datetime | None = ts_field(nullable=True, default_now=False)


class PatientPublic(PatientBase):
    """A patient as shown to staff and to the patient."""

    id: int
    created_at: datetime


# --- sessions, throttles, reset codes ------------------------------------------


class SessionFields(SQLModel):
    """Server-side session: only a SHA-256 of the token is stored."""

    token_hash: str = Field(max_length=64, unique=True, index=True)
    principal_id: int
    created_at: datetime = ts_field()
    expires_at: datetime = ts_field(default_now=False)
    last_seen_at: datetime = ts_field()
    revoked_at: datetime | None = ts_field(nullable=True, default_now=False)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class UserSession(SessionFields, TenantScoped, table=True):
    """A signed-in staff member or patient of one tenant."""

    __tablename__ = "user_session"
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    principal_kind: PrincipalKind = Field(sa_type=sa.String(10))


class OperatorSession(SessionFields, table=True):
    """A signed-in platform operator."""

    __tablename__ = "operator_session"

    id: int | None = Field(default=None, primary_key=True)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per (scope, identifier), whether or not the account exists.

    Keyed by an opaque string (``t<tenant>:<kind>:<identifier>`` or
    ``op:<email>``) so one table serves every login form.
    """

    __tablename__ = "login_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True, index=True)
    failures: int = 0
    last_failure_at: datetime = ts_field()
    locked_until: datetime | None = ts_field(nullable=True, default_now=False)


class PasswordResetCode(TenantScoped, table=True):
    """A one-time code that lets a staff member or patient set a new password."""

    __tablename__ = "password_reset_code"
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    principal_kind: PrincipalKind = Field(sa_type=sa.String(10))
    principal_id: int
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    created_at: datetime = ts_field()
    expires_at: datetime = ts_field(default_now=False)
    used_at: datetime | None = ts_field(nullable=True, default_now=False)


# --- single sign-on ----------------------------------------------------------------


class TenantSsoConfig(TenantScoped, table=True):
    """The tenant's OpenID Connect identity provider for staff sign-in."""

    __tablename__ = "tenant_sso_config"
    __table_args__ = (sa.UniqueConstraint("tenant_id", name="uq_sso_tenant"),)

    id: int | None = Field(default=None, primary_key=True)
    enabled: bool = False
    issuer: str = Field(default="", max_length=500)
    client_id: str = Field(default="", max_length=255)
    # Fernet-encrypted with a key derived from PRM_SECRET_KEY; never sent to a page.
    client_secret_enc: str = Field(default="", max_length=1000)
    updated_at: datetime = ts_field()


class OidcLoginState(TenantScoped, table=True):
    """One started SSO sign-in: state, nonce and PKCE verifier, used once."""

    __tablename__ = "oidc_login_state"
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=100, unique=True, index=True)
    nonce: str = Field(max_length=100)
    code_verifier: str = Field(max_length=128)
    redirect_uri: str = Field(max_length=500)
    next_path: str = Field(default="", max_length=500)
    created_at: datetime = ts_field()
    expires_at: datetime = ts_field(default_now=False)
    used_at: datetime | None = ts_field(nullable=True, default_now=False)
