"""Staff single sign-on over OpenID Connect: authorization code flow with PKCE (S256).

``begin_sso_login`` stores a one-time OidcLoginState (state, nonce, PKCE
verifier, where to go afterwards) and returns the provider's authorization
URL. ``complete_sso_login`` redeems that state once, exchanges the code with
the client secret and the verifier, verifies the ID token against the
provider's JWKS and signs the matching staff member in.

Design choices:

- Failures of ``complete_sso_login`` are returned (SsoOutcome), not raised,
  like accounts.auth.LoginOutcome: the consumed state and the
  "auth.sso_failed" audit row must be committed, and the caller's
  transaction rolls back on exceptions.
- The state is bound to the browser that started the sign-in: its second
  half is an HMAC over the first half and a random per-browser value that the
  route keeps in an HttpOnly cookie. A callback URL planted in someone else's
  browser (login CSRF, RFC 6749 section 10.12) is refused.
- Every network call (discovery, JWKS, token endpoint) happens before the
  first write, with short timeouts, so no database write lock is held while
  waiting on the provider. The state is then claimed with a conditional
  UPDATE, so two concurrent callbacks cannot both use it.
- Staff are matched by verified email, and the provider's ``iss`` + ``sub``
  is linked on first use. A member linked to another subject, or a subject
  already linked to another member, is refused: an email changed at the
  provider cannot take over an account.
- Error keys are complete messages without parameters, because the route
  carries only the key to the sign-in page (``?sso_error=<key>``); the
  machine-readable reason goes to the audit log.
- Authlib builds the authorization request (prepare_grant_uri, S256
  challenge), the token request and the client authentication; the ID token
  is verified with joserfc (the JOSE library Authlib itself uses since
  authlib.jose was deprecated) and Authlib's OIDC ``CodeIDToken`` claim rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlmodel import col, delete, select, update

from prm_saas.accounts.auth import find_staff, open_session, staff_principal, tenant_read_only
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.credentials import code_digest, decrypt_secret
from prm_saas.accounts.models import AccountStatus, OidcLoginState, StaffMember, TenantSsoConfig
from prm_saas.accounts.staff import activate_invited
from prm_saas.audit.services import record
from tenants.db import TenantSession
from tenants.errors import DomainError
from tenants.types import utcnow

STATE_TTL = timedelta(minutes=10)
SCOPE = "openid email profile"
# Providers answer in well under a second; a hung provider must not hold a worker.
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
METADATA_TTL_S = 300.0
CLOCK_LEEWAY_S = 60
# Symmetric (HS*) ID tokens would need the client secret as the key; only
# asymmetric signatures published in the provider's JWKS are accepted.
ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

# Message keys the sign-in page may receive in ?sso_error= (all parameter-free).
NOT_CONFIGURED = "auth.sso_not_configured"
STATE_INVALID = "auth.sso_state_invalid"
CANCELLED = "auth.sso_cancelled"
PROVIDER_ERROR = "auth.sso_provider_error"
TOKEN_INVALID = "auth.sso_token_invalid"  # noqa: S105 - a message key, not a secret
EMAIL_UNVERIFIED = "auth.sso_email_unverified"
UNKNOWN_STAFF = "auth.sso_unknown_staff"
IDENTITY_MISMATCH = "auth.sso_identity_mismatch"
READ_ONLY = "auth.sso_read_only"
DISABLED = "auth.disabled"
SSO_ERROR_KEYS = frozenset(
    {
        NOT_CONFIGURED,
        STATE_INVALID,
        CANCELLED,
        PROVIDER_ERROR,
        TOKEN_INVALID,
        EMAIL_UNVERIFIED,
        UNKNOWN_STAFF,
        IDENTITY_MISMATCH,
        READ_ONLY,
        DISABLED,
    }
)


@dataclass(frozen=True)
class SsoOutcome:
    """The result of an SSO callback: a signed-in principal, or an error key and reason."""

    principal: Principal | None = None
    token: str = ""
    next_path: str = ""
    error_key: str = ""
    reason: str = ""  # machine-readable, for the audit log and tests
    email: str = ""  # the email the provider asserted, when it got that far

    @property
    def ok(self) -> bool:
        """Whether the sign-in succeeded."""
        return self.principal is not None


class _Failure(Exception):
    def __init__(self, key: str, reason: str, email: str = "") -> None:
        super().__init__(reason)
        self.key, self.reason, self.email = key, reason, email


# --- provider metadata ---------------------------------------------------------------

_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _get_json(url: str, *, force: bool = False) -> dict[str, Any]:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(url)
    if hit and not force and now - hit[0] < METADATA_TTL_S:
        return hit[1]
    try:
        resp = httpx.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        resp.raise_for_status()
        doc = resp.json()
    except (httpx.HTTPError, ValueError):
        raise _Failure(PROVIDER_ERROR, f"unreachable:{url[:200]}") from None
    if not isinstance(doc, dict):
        raise _Failure(PROVIDER_ERROR, f"not_json_object:{url[:200]}")
    with _cache_lock:
        _cache[url] = (now, doc)
    return doc


def clear_provider_cache() -> None:
    """Forget cached discovery documents and key sets (tests, key rotation drills)."""
    with _cache_lock:
        _cache.clear()


def provider_metadata(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document, cached for a few minutes.

    Its ``issuer`` must name the configured issuer (a trailing slash aside:
    update_sso strips it, some providers keep it); the document's exact value
    is what ID tokens are then checked against.
    """
    meta = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    doc_issuer = meta.get("issuer")
    if not isinstance(doc_issuer, str) or doc_issuer.rstrip("/") != issuer.rstrip("/"):
        raise _Failure(PROVIDER_ERROR, "discovery_issuer_mismatch")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(name), str):
            raise _Failure(PROVIDER_ERROR, f"discovery_missing:{name}")
    return meta


def _key_set(jwks_uri: str, *, force: bool = False) -> KeySet:
    try:
        return KeySet.import_key_set(_get_json(jwks_uri, force=force))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError):
        raise _Failure(PROVIDER_ERROR, "jwks_invalid") from None


# --- state ------------------------------------------------------------------------------


def _state_mac(tenant_id: int, part: str, browser_binding: str) -> str:
    return code_digest(f"{tenant_id}|{part}|{browser_binding}", scope="oidc-state")[:32]


def _enabled_config(session: TenantSession) -> TenantSsoConfig:
    row = session.exec(select(TenantSsoConfig)).first()
    if row is None or not row.enabled or not row.issuer or not row.client_id:
        raise _Failure(NOT_CONFIGURED, "not_configured")
    return row


def begin_sso_login(
    *, session: TenantSession, redirect_uri: str, next_path: str, browser_binding: str
) -> str:
    """Start a staff sign-in at the tenant's identity provider; returns its authorization URL.

    ``redirect_uri`` is this site's callback URL, ``next_path`` an already
    validated local path to land on afterwards, ``browser_binding`` the random
    value the route keeps in the browser's HttpOnly cookie. Raises
    DomainError("auth.sso_not_configured") when SSO is off and
    DomainError("auth.sso_provider_error") when the provider cannot be reached.
    """
    assert session.tenant_id is not None
    if not browser_binding:
        raise ValueError("browser_binding is required")
    try:
        config = _enabled_config(session)
        meta = provider_metadata(config.issuer)
    except _Failure as exc:
        raise DomainError(exc.key) from None
    now = utcnow()
    # Old attempts are useless after their lifetime; keep a grace period so a
    # late callback still reads as "expired" rather than "unknown".
    session.exec(delete(OidcLoginState).where(col(OidcLoginState.expires_at) < now - STATE_TTL))
    part = secrets.token_urlsafe(24)
    state = f"{part}.{_state_mac(session.tenant_id, part, browser_binding)}"
    nonce = secrets.token_urlsafe(24)
    code_verifier = secrets.token_urlsafe(48)  # 64 characters (RFC 7636: 43-128)
    session.add(
        OidcLoginState(
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri[:500],
            next_path=next_path[:500],
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    url: str = prepare_grant_uri(
        meta["authorization_endpoint"],
        client_id=config.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=SCOPE,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )
    return url


def _check_state(
    session: TenantSession, row: OidcLoginState | None, browser_binding: str, now: datetime
) -> OidcLoginState:
    # Another tenant's state is simply not found here (the session is scoped).
    if row is None:
        raise _Failure(STATE_INVALID, "state_unknown")
    if row.used_at is not None:
        raise _Failure(STATE_INVALID, "state_used")
    if row.expires_at <= now:
        raise _Failure(STATE_INVALID, "state_expired")
    assert session.tenant_id is not None
    part, _, mac = row.state.partition(".")
    if not browser_binding or not hmac.compare_digest(
        mac, _state_mac(session.tenant_id, part, browser_binding)
    ):
        raise _Failure(STATE_INVALID, "browser_mismatch")
    return row


def _claim_state(session: TenantSession, row: OidcLoginState, now: datetime) -> bool:
    """Mark the state used; False if another request got there first."""
    result = session.exec(
        update(OidcLoginState)
        .where(col(OidcLoginState.id) == row.id, col(OidcLoginState.used_at).is_(None))
        .values(used_at=now)
    )
    return int(result.rowcount or 0) == 1


# --- code exchange and ID token -------------------------------------------------------


def _exchange_code(
    meta: dict[str, Any], config: TenantSsoConfig, secret: str, code: str, row: OidcLoginState
) -> dict[str, Any]:
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        method = "client_secret_basic"
    elif "client_secret_post" in methods:
        method = "client_secret_post"
    else:
        raise _Failure(PROVIDER_ERROR, "no_supported_client_auth")
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=row.redirect_uri,
        code_verifier=row.code_verifier,
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    uri, headers, body = ClientAuth(config.client_id, secret, method).prepare(
        "POST", meta["token_endpoint"], headers, body
    )
    try:
        resp = httpx.post(uri, content=body, headers=headers, timeout=HTTP_TIMEOUT)
        data = resp.json()
    except (httpx.HTTPError, ValueError):
        raise _Failure(PROVIDER_ERROR, "token_endpoint_unreachable") from None
    if not isinstance(data, dict):
        raise _Failure(PROVIDER_ERROR, "token_response_invalid")
    if resp.status_code != 200 or "error" in data:
        error = str(data.get("error", resp.status_code))[:40]
        raise _Failure(PROVIDER_ERROR, f"token_error:{error}")
    return data


def _verify_id_token(
    meta: dict[str, Any], config: TenantSsoConfig, tokens: dict[str, Any], nonce: str
) -> dict[str, Any]:
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise _Failure(TOKEN_INVALID, "id_token_missing")
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in offered if a in ASYMMETRIC_ALGS]
    if not algorithms:
        raise _Failure(TOKEN_INVALID, "no_supported_signing_alg")
    try:
        try:
            token = jwt.decode(id_token, _key_set(meta["jwks_uri"]), algorithms=algorithms)
        except InvalidKeyIdError:
            # The provider may have rotated its keys since they were cached.
            token = jwt.decode(
                id_token, _key_set(meta["jwks_uri"], force=True), algorithms=algorithms
            )
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": meta["issuer"]},
                "aud": {"essential": True, "value": config.client_id},
            },
            {
                "nonce": nonce,
                "client_id": config.client_id,
                "access_token": tokens.get("access_token"),
            },
        )
        claims.validate(leeway=CLOCK_LEEWAY_S)
    except JoseError as exc:
        detail = getattr(exc, "claim", "") or exc.description or ""
        raise _Failure(TOKEN_INVALID, f"id_token_invalid:{exc.error}:{detail}"[:120]) from None
    except (ValueError, TypeError, KeyError):
        raise _Failure(TOKEN_INVALID, "id_token_malformed") from None
    return dict(claims)


def sso_subject_of(issuer: str, subject: str) -> str:
    """What StaffMember.sso_subject stores for a provider identity (iss + sub)."""
    value = f"{issuer}|{subject}"
    return value if len(value) <= 255 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _verified_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise _Failure(EMAIL_UNVERIFIED, "email_missing")
    verified = claims.get("email_verified")
    # Absent means the provider does not say; some providers send the string "true".
    if verified is not None and verified is not True and verified != "true":
        raise _Failure(EMAIL_UNVERIFIED, "email_unverified", email)
    return email.strip().lower()


# --- sign in -------------------------------------------------------------------------------


def _redeem(
    session: TenantSession, row: OidcLoginState, code: str, error: str | None
) -> dict[str, Any]:
    if error:
        key = CANCELLED if error == "access_denied" else PROVIDER_ERROR
        raise _Failure(key, f"provider_error:{error[:40]}")
    config = _enabled_config(session)
    if not code:
        raise _Failure(PROVIDER_ERROR, "code_missing")
    secret = decrypt_secret(config.client_secret_enc)
    if not secret:
        raise _Failure(NOT_CONFIGURED, "client_secret_unreadable")
    meta = provider_metadata(config.issuer)
    tokens = _exchange_code(meta, config, secret, code, row)
    return _verify_id_token(meta, config, tokens, row.nonce)


def _sign_in(
    session: TenantSession, claims: dict[str, Any], *, ip: str, user_agent: str, now: datetime
) -> tuple[Principal, str]:
    email = _verified_email(claims)
    subject = sso_subject_of(claims["iss"], claims["sub"])
    member = find_staff(session, email)
    if member is None:
        raise _Failure(UNKNOWN_STAFF, "no_account", email)
    if member.status == AccountStatus.DISABLED:
        raise _Failure(DISABLED, "disabled", email)
    if member.sso_subject is not None and not hmac.compare_digest(member.sso_subject, subject):
        raise _Failure(IDENTITY_MISMATCH, "member_linked_to_other_subject", email)
    if (
        member.sso_subject is None
        and session.exec(
            select(StaffMember.id).where(
                StaffMember.sso_subject == subject, StaffMember.id != member.id
            )
        ).first()
        is not None
    ):
        raise _Failure(IDENTITY_MISMATCH, "subject_linked_to_other_member", email)
    read_only = tenant_read_only(session)
    activating = member.status == AccountStatus.INVITED
    if read_only and activating:
        raise _Failure(READ_ONLY, "tenant_read_only", email)
    # A suspended tenant's staff may still sign in (to read), but its member
    # rows cannot change: the link and last_login_at wait for reactivation.
    if not read_only:
        if member.sso_subject is None:
            member.sso_subject = subject
            member.updated_at = now
        if activating:
            # The tenant's own provider vouches for the invited email; the
            # emailed link (expired or not) is no longer needed.
            activate_invited(member, now)
        member.last_login_at = now
        session.add(member)
    principal = staff_principal(member)
    token = open_session(session, principal, ip=ip, user_agent=user_agent)
    if activating:
        record(
            session,
            actor=principal,
            action="staff.invite_accepted",
            target_type="staff",
            target_id=member.id,
            ip=ip,
            details={"method": "sso"},
        )
    record(session, actor=principal, action="auth.login", ip=ip, details={"method": "sso"})
    return principal, token


def complete_sso_login(
    *,
    session: TenantSession,
    state: str,
    code: str,
    error: str | None = None,
    browser_binding: str,
    ip: str = "",
    user_agent: str = "",
) -> SsoOutcome:
    """Finish a staff sign-in from the provider's callback.

    Never raises for a failed sign-in: the outcome carries the error key (for
    the sign-in page) and the reason (audited as "auth.sso_failed"); the
    caller commits either way, which also keeps the state used.
    """
    now = utcnow()
    row = None
    if state and len(state) <= 100:
        row = session.exec(select(OidcLoginState).where(OidcLoginState.state == state)).first()
    try:
        row = _check_state(session, row, browser_binding, now)
        claims = _redeem(session, row, code, error)
        if not _claim_state(session, row, now):
            raise _Failure(STATE_INVALID, "state_used")
        principal, token = _sign_in(session, claims, ip=ip, user_agent=user_agent, now=now)
    except _Failure as exc:
        if row is not None:
            _claim_state(session, row, now)
        record(
            session,
            actor=None,
            actor_label=exc.email or "sso",
            action="auth.sso_failed",
            ip=ip,
            details={"reason": exc.reason, "method": "sso"},
        )
        return SsoOutcome(error_key=exc.key, reason=exc.reason, email=exc.email)
    return SsoOutcome(
        principal=principal, token=token, next_path=row.next_path, email=principal.label
    )
