"""Demo plans and subscriptions (prm_saas.demo calls this after the demo tenants).

Basic ¥999, Pro ¥2,999 and Enterprise ¥9,999 a month; the community clinic
signed up on Basic five months ago and upgraded to Pro two months ago, the
health-check center has been on Enterprise for four months. Their usage rows
come from the dashboards' roll-up, which load_demo runs right after.
Idempotent: plans and subscriptions that exist are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from prm_saas.accounts.auth import operator_principal
from prm_saas.accounts.models import Operator
from prm_saas.platform.billing import save_plan, set_tenant_plan
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import platform_session
from tenants.models import Tenant
from tenants.types import utcnow

PLANS = (
    ("basic", "基础版", "Basic", "999", 1),
    ("pro", "专业版", "Pro", "2999", 2),
    ("enterprise", "企业版", "Enterprise", "9999", 3),
)
# slug -> [(plan code, days ago)], oldest first; the tenant is backdated to the first.
HISTORY = {
    "sunshine": [("basic", 150), ("pro", 60)],
    "kangjian": [("enterprise", 120)],
}


def load_demo_plans(operator_email: str) -> list[str]:
    """Create the demo plans and subscriptions that are missing; returns what was created."""
    created: list[str] = []
    now = utcnow()
    with platform_session() as s:
        op = s.exec(select(Operator).where(Operator.email == operator_email)).one()
        actor = operator_principal(op)
        for code, zh, en, price, order in PLANS:
            if s.exec(select(Plan.id).where(Plan.code == code)).first() is None:
                save_plan(
                    session=s,
                    actor=actor,
                    code=code,
                    name_zh=zh,
                    name_en=en,
                    monthly_yuan=price,
                    sort_order=order,
                )
                created.append(f"plan {code}")
        plan_ids = {p.code: p.id for p in s.exec(select(Plan))}
        for slug, steps in HISTORY.items():
            tenant = s.exec(select(Tenant).where(Tenant.slug == slug)).first()
            if tenant is None or tenant.id is None:
                continue
            has_any = s.exec(
                select(TenantSubscription.id).where(
                    TenantSubscription.subject_tenant_id == tenant.id
                )
            ).first()
            if has_any is not None:
                continue
            tenant.created_at = now - timedelta(days=steps[0][1] + 3)
            s.add(tenant)
            for code, days_ago in steps:
                plan_id = plan_ids[code]
                assert plan_id is not None
                set_tenant_plan(
                    session=s,
                    actor=actor,
                    tenant_id=tenant.id,
                    plan_id=plan_id,
                    reason="演示数据" if code == steps[0][0] else "客户升级",
                    now=now - timedelta(days=days_ago),
                )
            created.append(f"subscriptions {slug}")
    # Usage rows come with the dashboards' roll-up that load_demo runs next.
    return created
