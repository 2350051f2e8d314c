"""The current tenant, held in a contextvar.

It is set once at each boundary (a page load or event, an HTTP request, a
Celery task) from server-side facts: the request's host or path prefix, the
authenticated session, or the task's headers. It is never set from an event
argument or a form field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current_tenant: ContextVar[int | None] = ContextVar("prm_current_tenant", default=None)


def current_tenant_id() -> int | None:
    """The tenant of this request / event / task, or None at platform level."""
    return _current_tenant.get()


@contextmanager
def tenant_context(tenant_id: int | None) -> Iterator[None]:
    """Run the block with ``tenant_id`` as the current tenant (None: platform level)."""
    token = _current_tenant.set(tenant_id)
    try:
        yield
    finally:
        _current_tenant.reset(token)
