"""The public plan catalog the sign-up page shows (issue 8, part C).

Public like the sign-up itself (nobody is signed in): only the plans on sale,
only what a price list says (name, monthly price, limits, trial length); no ids
of Stripe, no inactive plans. ``services.available_plans`` is the signed-in
tenant admin's version of the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from prm_saas.platform.models import Plan
from tenants.db import TenantSession


@dataclass(frozen=True)
class PublicPlan:
    """A plan on sale, as the price list shows it (None limits: unlimited)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    monthly_fen: int
    max_staff: int | None
    max_locations: int | None
    max_active_patients: int | None
    messages_included: int
    message_overage_fen: int
    messages_cap: int | None
    trial_days: int


def plans_on_sale(*, session: TenantSession) -> list[PublicPlan]:
    """The active plans in catalog order (a platform session)."""
    rows = session.exec(
        select(Plan)
        .where(col(Plan.active).is_(True))
        .order_by(col(Plan.sort_order), col(Plan.monthly_fen), col(Plan.id))
    ).all()
    out = []
    for p in rows:
        assert p.id is not None
        out.append(
            PublicPlan(
                id=p.id,
                code=p.code,
                name_zh=p.name_zh,
                name_en=p.name_en,
                monthly_fen=p.monthly_fen,
                max_staff=p.max_staff,
                max_locations=p.max_locations,
                max_active_patients=p.max_active_patients,
                messages_included=p.messages_included,
                message_overage_fen=p.message_overage_fen,
                messages_cap=p.messages_cap,
                trial_days=p.trial_days,
            )
        )
    return out
