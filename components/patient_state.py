"""The state every signed-in patient page shares: what the patient shell shows
besides the tenant, i.e. the unread count on the inbox tab."""

from __future__ import annotations

from typing import Any

from components.app_state import AppState
from prm_saas.accounts.models import PrincipalKind
from prm_saas.messaging.log import unread_count


class PatientState(AppState):
    """Patient page states inherit this; the bottom navigation reads ``inbox_unread``."""

    inbox_unread: int = 0

    def _refresh_unread(self) -> Any:
        """Count the patient's unread inbox messages (pages call this on load)."""
        count, ev = self._run(
            PrincipalKind.PATIENT,
            lambda s, p: unread_count(session=s, actor=p),
            lambda _m, _f: None,
        )
        self.inbox_unread = count or 0
        return ev
