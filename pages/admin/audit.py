"""The tenant's audit log, for its admins."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.audit_table import AuditTableMixin, audit_table
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.audit.services import AuditPage, list_tenant_audit


class TenantAuditState(AuditTableMixin, AppState):
    """Paged, filterable audit rows of this tenant."""

    def _fetch(self) -> Any:
        page_no, prefix = self.page_no, self.action_filter
        result, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: list_tenant_audit(session=s, actor=p, action_prefix=prefix, page=page_no),
            self._fail,
        )
        if isinstance(result, AuditPage):
            self._show_page(result, self._tenant().timezone)
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins only."""
        self.page_no, self.action_filter = 0, ""
        redirect = self._load(PrincipalKind.STAFF, Permission.AUDIT_READ)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._fetch()


@page("/admin/audit", title="Audit log", on_load=TenantAuditState.load)
def tenant_audit() -> rx.Component:
    """Audit log page."""
    return admin_layout(
        rx.vstack(
            rx.heading(t("audit.title"), size="6"),
            audit_table(TenantAuditState),
            spacing="4",
            width="100%",
        ),
        active="audit",
    )
