"""The mall's pages build, and the catalog editor's form becomes the service's input."""

from __future__ import annotations

from pages.admin.catalog import catalog_page, package_input_from_form
from pages.patient.mall import mall_page, package_page


def test_the_pages_build() -> None:
    for build in (catalog_page, mall_page, package_page):
        assert build() is not None


def test_editor_form_to_package_input() -> None:
    form = {
        "code": "deep",
        "name_zh": "深度套餐",
        "list_price": "1299.00",
        "sale_price": "999",
        "fasting_required": "on",
        "inc_3": "on",
        "inc_1": "on",
        "inc_x": "on",
        "addon_7": "on",
        "addon_price_7": "880.00",
        "addon_price_8": "10",  # a price without its tick is not an add-on
        "loc_2": "on",
        "loc_99999999999": "on",  # too long to be an id
        "target_sex": ["not", "text"],
    }
    data = package_input_from_form(form)
    assert (data.code, data.name_zh, data.list_price, data.sale_price) == (
        "deep",
        "深度套餐",
        "1299.00",
        "999",
    )
    assert data.fasting_required
    assert data.item_ids == [1, 3]
    assert data.addons == {7: "880.00"}
    assert data.location_ids == [2]
    assert data.target_sex == ""  # not text: left for the service to refuse
    empty = package_input_from_form("garbage")  # type: ignore[arg-type]
    assert (empty.item_ids, empty.fasting_required) == ([], False)
