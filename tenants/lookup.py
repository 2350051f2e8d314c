"""Record lookups that cannot tell "missing" from "another tenant's"."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import select

from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.models import TenantScoped

M = TypeVar("M", bound=TenantScoped)


def get_or_404(session: TenantSession, model: type[M], record_id: object) -> M:
    """The row of ``model`` with this id in the session's tenant, else NotFound.

    The query goes through the scoped session (so another tenant's row is simply
    not found), and the tenant is checked once more on the result as a belt to
    the braces. A malformed id is "not found" too: hostile clients send those.
    """
    try:
        rid = int(record_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound() from None
    pk = model.id  # type: ignore[attr-defined]
    obj = session.exec(select(model).where(pk == rid)).first()
    if obj is None or session.tenant_id is None or obj.tenant_id != session.tenant_id:
        raise NotFound()
    return obj
