"""The platform's audit log, for operators."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.audit_table import AuditTableMixin, audit_table
from components.i18n import t
from components.layout import platform_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.audit.services import AuditPage, list_platform_audit

# Operators read platform times in the platform's home zone.
PLATFORM_TZ = "Asia/Shanghai"


class PlatformAuditState(AuditTableMixin, AppState):
    """Paged, filterable platform audit rows."""

    def _fetch(self) -> Any:
        page_no, prefix = self.page_no, self.action_filter
        result, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: list_platform_audit(
                session=s, actor=p, action_prefix=prefix, page=page_no
            ),
            self._fail,
        )
        if isinstance(result, AuditPage):
            self._show_page(result, PLATFORM_TZ)
        return ev

    @rx.event
    def load(self) -> Any:
        """Operators only."""
        self.page_no, self.action_filter = 0, ""
        redirect = self._load(PrincipalKind.OPERATOR)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._fetch()


@page("/platform/audit", title="Platform audit", on_load=PlatformAuditState.load, tenant=False)
def platform_audit() -> rx.Component:
    """Audit log page."""
    return platform_layout(
        rx.vstack(
            rx.heading(t("audit.platform_title"), size="6"),
            audit_table(PlatformAuditState),
            spacing="4",
            width="100%",
        ),
        active="audit",
    )
