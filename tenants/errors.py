"""Errors of the tenancy kernel and the shared error vocabulary of services.

Every error a user can hit carries a message key (see prm_saas.i18n) and its
parameters, so each transport renders it in the user's language.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a user can hit; rendered through its message key."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class NotFound(DomainError):
    """The record does not exist *or* belongs to another tenant.

    The two cases are deliberately indistinguishable (zulip's
    access_stream_by_id style), so ids of other tenants leak nothing.
    """

    key = "error.not_found"


class PermissionDenied(DomainError):
    """The acting principal may not do this in this tenant."""

    key = "error.permission_denied"


class TenantReadOnly(DomainError):
    """The tenant is suspended: its data can be read but not changed."""

    key = "error.tenant_read_only"


class NoTenantContext(RuntimeError):
    """Tenant-scoped data was written with no tenant in context (a bug)."""


class CrossTenantWrite(RuntimeError):
    """A row of one tenant was about to be written under another (a bug or an attack)."""


class AppendOnlyViolation(RuntimeError):
    """An append-only row (audit, ledger) was about to be changed or deleted."""


class FieldErrors(DomainError):
    """Form input failed validation: one message key per field."""

    key = "error.invalid_input"

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.errors = errors
        super().__init__(self.key)

    @classmethod
    def single(cls, field: str, key: str, **params: Any) -> FieldErrors:
        """One field, one message."""
        return cls({field: (key, params)})
