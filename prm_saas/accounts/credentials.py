"""Password hashing (argon2id), session/invite tokens, and secrets at rest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from prm_saas.settings import get_settings


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so a wrong identifier
    # costs the same time as a wrong password.
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; takes the same time when there is no hash."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A fresh random token for sessions and invitations (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored for a token: its SHA-256, hex. Tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(digits: int = 6) -> str:
    """A numeric one-time code."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_digest(code: str, *, scope: str) -> str:
    """A keyed hash of a short code (short codes need a key: they are guessable offline)."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{scope}:{code}".encode(), hashlib.sha256).hexdigest()


def encrypt_secret(plain: str) -> str:
    """Encrypt a secret (e.g. an OIDC client secret) for storage."""
    return Fernet(get_settings().fernet_key).encrypt(plain.encode()).decode() if plain else ""


def decrypt_secret(token: str) -> str:
    """Decrypt a stored secret; empty if it cannot be read (the key changed)."""
    if not token:
        return ""
    try:
        return Fernet(get_settings().fernet_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
