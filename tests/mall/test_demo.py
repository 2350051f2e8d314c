"""The demo catalog is coherent: it passes the admin's own rules and books."""

from __future__ import annotations

from sqlmodel import select

from prm_saas.mall.admin import package_for_edit, save_package
from prm_saas.mall.demo import seed_catalog
from prm_saas.mall.models import ExamItem
from prm_saas.mall.services import package_for_booking, published_packages
from tenants.db import tenant_session
from tests.factories import World
from tests.mall.builders import make_location


def test_seed_catalog_publishes_bookable_packages_once(world: World) -> None:
    loc = make_location(world.a)
    for _ in range(2):
        with tenant_session(world.a.id) as s:
            seed_catalog(s, location_ids=[loc])
    with tenant_session(world.a.id) as s:
        cards = published_packages(session=s)
        assert len(s.exec(select(ExamItem)).all()) == 16
        assert {c.category_zh for c in cards} == {"入职体检", "中老年体检", "女性专项", "深度体检"}
        assert len(cards) == 6
        senior = next(c for c in cards if c.code == "SENIOR")
        priced = package_for_booking(
            session=s, package_id=senior.id, location_id=loc, addon_item_ids=[]
        )
        assert priced.resource_keys == {"ct"}
        men = next(c for c in cards if c.code == "MEN-DEEP")
        assert package_for_booking(
            session=s, package_id=men.id, location_id=loc, addon_item_ids=[]
        ).resource_keys == {"ct", "gastroscopy"}
    # every demo package survives a round trip through the admin editor's validation
    for c in cards:
        with tenant_session(world.a.id) as s:
            view = package_for_edit(session=s, actor=world.admin_a, package_id=c.id)
            save_package(session=s, actor=world.admin_a, package_id=c.id, data=view.data)
    with tenant_session(world.b.id) as s:
        assert published_packages(session=s) == []
