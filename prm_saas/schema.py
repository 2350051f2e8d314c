"""Imports every model module so SQLModel.metadata describes the whole schema.

Alembic's env.py and the test fixtures import this; add new model modules here.
"""

from __future__ import annotations

from sqlmodel import SQLModel

import prm_saas.accounts.models
import prm_saas.audiences.models
import prm_saas.audit.models
import prm_saas.automations.models
import prm_saas.billing.models
import prm_saas.booking.models
import prm_saas.campaigns.models
import prm_saas.challenges.models
import prm_saas.dashboards.models
import prm_saas.mall.models
import prm_saas.membership.models
import prm_saas.messaging.content
import prm_saas.messaging.models
import prm_saas.orders.models
import prm_saas.platform.models
import prm_saas.tags.models
import prm_saas.tracking.models  # noqa: F401
import tenants.models  # noqa: F401

metadata = SQLModel.metadata
