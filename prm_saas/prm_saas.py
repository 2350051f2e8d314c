"""The Reflex app: every page twice (under /t/<slug> and at a tenant host's root),
plus the HTTP routes (health, SSO, webhooks) mounted beside it."""

from __future__ import annotations

import reflex as rx

import pages.admin.audiences
import pages.admin.audit
import pages.admin.auth
import pages.admin.automations
import pages.admin.billing
import pages.admin.campaign_report
import pages.admin.campaigns
import pages.admin.catalog
import pages.admin.challenges
import pages.admin.dashboard
import pages.admin.frontdesk
import pages.admin.home
import pages.admin.members
import pages.admin.membership
import pages.admin.messaging
import pages.admin.orders
import pages.admin.rewards
import pages.admin.schedules
import pages.admin.settings
import pages.admin.staff
import pages.admin.tags
import pages.patient.auth
import pages.patient.booking
import pages.patient.card
import pages.patient.challenges
import pages.patient.home
import pages.patient.inbox
import pages.patient.mall
import pages.patient.preferences
import pages.patient.rewards
import pages.patient.wallet
import pages.platform.audit
import pages.platform.auth
import pages.platform.dashboard
import pages.platform.plans
import pages.platform.signup
import pages.platform.tenants  # noqa: F401 - each page module registers its pages
from components.layout import not_found_view
from components.routing import PAGES, routes_of
from prm_saas.api.app import create_api

app = rx.App(
    api_transformer=create_api(),
    html_lang="zh-CN",
    head_components=[rx.el.meta(name="theme-color", content="#0f766e")],
)

for spec in PAGES:
    for route in routes_of(spec):
        app.add_page(spec.component, route=route, title=f"{spec.title} · PRM", on_load=spec.on_load)

app.add_page(not_found_view, route="/404", title="404 · PRM")
