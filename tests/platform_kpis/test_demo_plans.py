"""The demo's plans and subscriptions: three plans, an upgrade months ago, and a
platform dashboard with MRR and usage from the first load."""

from __future__ import annotations

from sqlmodel import col, select

from prm_saas.accounts.auth import operator_principal
from prm_saas.accounts.models import Operator
from prm_saas.demo import OPERATOR_EMAIL, load_demo
from prm_saas.platform.billing import current_plans, list_plans, subscription_history
from prm_saas.platform.kpis import platform_dashboard
from tenants.db import platform_session
from tenants.models import Tenant
from tests.platform_kpis.helpers import counts


def test_demo_plans_subscriptions_and_usage() -> None:
    created = load_demo()
    assert {"plan basic", "plan pro", "plan enterprise"} <= set(created)
    with platform_session() as s:
        op = operator_principal(
            s.exec(select(Operator).where(Operator.email == OPERATOR_EMAIL)).one()
        )
        plans = list_plans(session=s, actor=op)
        ids = {t.slug: int(t.id or 0) for t in s.exec(select(Tenant).order_by(col(Tenant.id)))}
        now = current_plans(session=s, actor=op)
        sunshine = subscription_history(session=s, actor=op, tenant_id=ids["sunshine"])
        dash = platform_dashboard(session=s, actor=op)
    assert [(p.code, p.monthly_fen) for p in plans] == [
        ("basic", 99900),
        ("pro", 299900),
        ("enterprise", 999900),
    ]
    assert {ids[k]: now[ids[k]].plan_code for k in ids} == {
        ids["sunshine"]: "pro",
        ids["kangjian"]: "enterprise",
    }
    assert [h.plan_code for h in sunshine] == ["pro", "basic"]
    assert sunshine[1].ended_at == sunshine[0].started_at
    mrr = next(c for c in dash.charts if c.key == "mrr")
    assert mrr.totals["current"] == 299900 + 999900
    usage = next(c for c in dash.charts if c.key == "usage")
    assert len(usage.x) == 2
    assert usage.series[0].values[0] > 0  # patients
    assert dash.freshness.rolled_through is not None

    before = counts()
    again = load_demo()
    assert not [c for c in again if c.startswith(("plan ", "subscriptions "))]
    assert counts() == before
