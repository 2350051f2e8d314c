"""Builders of the sign-up, limits and console tests: plans with limits through the
operator's plan editor, billing accounts through the billing engine, sign-ups
through the public service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import func, select

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import LoginThrottle
from prm_saas.audit.models import PlatformAuditEvent
from prm_saas.billing import engine
from prm_saas.billing.models import TenantBilling
from prm_saas.billing.signup import SignUpResult, sign_up
from prm_saas.platform.billing import PlanRow, save_plan
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import platform_session
from tenants.models import Tenant
from tenants.resolution import invalidate_tenant_cache
from tenants.types import utcnow

PASSWORD = "Clinic2026go"


def plan(operator: Principal, code: str = "basic", yuan: str = "999", **kw: Any) -> PlanRow:
    """A plan saved by the operator; limits as the editor types them ("" = unlimited)."""
    with platform_session() as s:
        return save_plan(
            session=s,
            actor=operator,
            code=code,
            name_zh=kw.pop("name_zh", f"{code}版"),
            name_en=kw.pop("name_en", code.title()),
            monthly_yuan=yuan,
            **kw,
        )


def open_billing(tenant_id: int, plan_id: int, now: datetime | None = None) -> None:
    """The tenant's billing account on ``plan_id``: its trial starts now, and its
    status says so (as for a tenant that signed up)."""
    at = now or utcnow()
    with platform_session() as s:
        engine.open_account(s, tenant_id=tenant_id, plan_id=plan_id, billing_email="", now=at)
        engine.apply_tenant_status(s, tenant_id=tenant_id, now=at)
    invalidate_tenant_cache()


def fields(**over: Any) -> dict[str, Any]:
    """A valid sign-up form, with ``over`` changed."""
    base: dict[str, Any] = {
        "name": "晨曦健康体检中心",
        "slug": "chenxi",
        "kind": "checkup_center",
        "admin_email": "Boss@Chenxi.test",
        "admin_name": "林晨",
        "admin_password": PASSWORD,
        "locale": "zh-CN",
        "timezone": "Asia/Shanghai",
        "ip": "203.0.113.7",
    }
    base.update(over)
    return base


def do_sign_up(plan_id: object, **over: Any) -> SignUpResult:
    """Sign up in one committed transaction (what sign_up_and_bill does before Stripe)."""
    with platform_session(allow_tenant_switch=True) as s:
        return sign_up(session=s, plan_id=plan_id, **fields(**over))  # type: ignore[arg-type]


def platform_counts() -> dict[str, int]:
    """Rows a sign-up writes at the platform level (a tenant's own rows cannot exist
    without its tenant row)."""
    with platform_session() as s:
        return {
            m.__name__: int(s.exec(select(func.count()).select_from(m)).one())
            for m in (
                Tenant,
                TenantBilling,
                TenantSubscription,
                LoginThrottle,
                PlatformAuditEvent,
                Plan,
            )
        }
