"""Catalog management (套餐管理) for tenant admins: packages with their items,
add-ons and locations, publish toggles; exam items; categories.

Everything a form sends is re-checked by prm_saas.mall.admin (handlers are a
public API); this page only turns form fields into the service's input.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.admin_ui import add_button, data_table
from components.app_state import AppState
from components.forms import (
    FormMixin,
    dialog_footer,
    field,
    form_checked,
    form_dialog,
    form_error,
    form_str,
    select_field,
)
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import yuan
from prm_saas.mall.admin import (
    PackageInput,
    editor_choices,
    list_categories,
    list_items,
    list_packages,
    package_for_edit,
    save_category,
    save_item,
    save_package,
    set_published,
)

SEX_OPTIONS = [("any", "mall.for_anyone"), ("male", "mall.for_men"), ("female", "mall.for_women")]
_TEXT_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "summary_zh",
    "summary_en",
    "description_zh",
    "description_en",
    "instructions_zh",
    "instructions_en",
    "target_sex",
    "min_age",
    "max_age",
    "list_price",
    "sale_price",
    "image_url",
    "category_id",
    "sort_order",
)


def package_input_from_form(form: dict[str, Any]) -> PackageInput:
    """The editor's fields as the service's input: ``inc_<id>`` ticks an included
    item, ``addon_<id>`` an add-on priced by ``addon_price_<id>``, ``loc_<id>`` a
    location. Keys that are not numbers are ignored here and ids that are not
    the tenant's are refused by the service."""
    if not isinstance(form, dict):
        form = {}
    data = PackageInput()
    for k in _TEXT_FIELDS:
        setattr(data, k, form_str(form, k))
    data.fasting_required = form_checked(form, "fasting_required")

    def ticked(prefix: str) -> list[int]:
        out = []
        for key in form:
            rest = key[len(prefix) :] if isinstance(key, str) and key.startswith(prefix) else ""
            if rest.isdigit() and len(rest) <= 9 and form_checked(form, key):
                out.append(int(rest))
        return sorted(out)

    data.item_ids = ticked("inc_")
    data.addons = {i: form_str(form, f"addon_price_{i}") for i in ticked("addon_")}
    data.location_ids = ticked("loc_")
    return data


class CatalogState(FormMixin, AppState):
    """The three tables and the three editors."""

    tab: str = "packages"
    packages: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    items: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    categories: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    # package editor
    pkg_open: bool = False
    pkg_id: str = ""  # "" = a new package
    pkg: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    pkg_items: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    pkg_locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    pkg_categories: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    form_key: int = 0  # remounts the editors' uncontrolled inputs with fresh defaults

    # item and category editors
    item_open: bool = False
    item: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    cat_open: bool = False
    cat: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    def _save(self, use_case: Any, dialog: str) -> Any:
        """Run an editor's save; on success close its dialog, say so and reload."""
        done, ev = self._run(PrincipalKind.STAFF, use_case, self._fail)
        if ev is not None:
            return ev
        if done is None:
            return None
        setattr(self, dialog, False)
        self.notice = self.tr("common.saved")
        return self._refresh()

    def _refresh(self) -> Any:
        def read(session: Any, actor: Any) -> None:
            self.packages = [
                {
                    "id": str(p.id),
                    "code": p.code,
                    "name": p.name_zh,
                    "name_en": p.name_en or p.name_zh,
                    "category": p.category_zh,
                    "sale": yuan(p.sale_price_fen),
                    "list": yuan(p.list_price_fen),
                    "items": str(p.item_count),
                    "addons": str(p.addon_count),
                    "locations": str(p.location_count),
                    "published": "1" if p.published else "",
                }
                for p in list_packages(session=session, actor=actor)
            ]
            self.items = [
                {
                    "id": str(i.id),
                    "code": i.code,
                    "name": i.name_zh,
                    "name_en": i.name_en,
                    "price": yuan(i.price_fen),
                    "resource_key": i.resource_key,
                    "active": "1" if i.active else "",
                }
                for i in list_items(session=session, actor=actor)
            ]
            self.categories = [
                {
                    "id": str(c.id),
                    "name": c.name_zh,
                    "name_en": c.name_en,
                    "sort_order": str(c.sort_order),
                    "packages": str(c.package_count),
                    "active": "1" if c.active else "",
                }
                for c in list_categories(session=session, actor=actor)
            ]

        _done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        return ev

    @rx.event
    def load(self) -> Any:
        """Tenant admins (CATALOG_MANAGE) only; others get the 404 page."""
        self._clear()
        self.pkg_open = self.item_open = self.cat_open = False
        redirect = self._load(PrincipalKind.STAFF, Permission.CATALOG_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def set_tab(self, value: str) -> None:
        """Switch between packages, items and categories."""
        if value in ("packages", "items", "categories"):
            self.tab = value

    # --- packages -----------------------------------------------------------------------

    def _fill_editor(self, package_id: Any) -> Any:
        def read(session: Any, actor: Any) -> bool:
            choices = editor_choices(session=session, actor=actor)
            if package_id is None:
                data, pid = PackageInput(), ""
            else:
                view = package_for_edit(session=session, actor=actor, package_id=package_id)
                data, pid = view.data, str(view.id)
            self.pkg_id = pid
            self.pkg = {k: str(getattr(data, k)) for k in _TEXT_FIELDS}
            self.pkg["fasting_required"] = "1" if data.fasting_required else ""
            included = set(data.item_ids)
            self.pkg_items = [
                {
                    "id": str(c.id),
                    "label": c.label_zh,
                    "inc": "1" if c.id in included else "",
                    "addon": "1" if c.id in data.addons else "",
                    "addon_price": data.addons.get(c.id, c.extra),
                    "active": "1" if c.active else "",
                }
                for c in choices.items
                if c.active or c.id in included or c.id in data.addons
            ]
            locs = set(data.location_ids)
            self.pkg_locations = [
                {
                    "id": str(c.id),
                    "label": c.label_zh,
                    "address": c.extra,
                    "on": "1" if c.id in locs else "",
                    "active": "1" if c.active else "",
                }
                for c in choices.locations
                if c.active or c.id in locs
            ]
            self.pkg_categories = [
                {"id": str(c.id), "label": c.label_zh} for c in choices.categories
            ]
            return True

        done, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if done:
            self.form_key += 1
            self.field_errors = {}
            self.pkg_open = True
        return ev

    @rx.event
    def new_package(self) -> Any:
        """Open an empty editor."""
        self._clear()
        return self._fill_editor(None)

    @rx.event
    def edit_package(self, package_id: int) -> Any:
        """Open the editor on a package."""
        self._clear()
        return self._fill_editor(package_id)

    @rx.event
    def set_pkg_open(self, value: bool) -> None:
        """Close (or open) the package editor."""
        self.pkg_open = bool(value)
        if not self.pkg_open:
            self.field_errors = {}

    @rx.event
    def save_package(self, form: dict[str, Any]) -> Any:
        """Save the editor (fields, items, add-ons, locations) in one go."""
        self._clear()
        ip, _ua = self._client()
        data = package_input_from_form(form)
        pid = self.pkg_id or None
        return self._save(
            lambda s, p: save_package(session=s, actor=p, package_id=pid, data=data, ip=ip),
            "pkg_open",
        )

    @rx.event
    def toggle_published(self, package_id: int, published: bool) -> Any:
        """Publish or unpublish from the table."""
        ip, _ua = self._client()
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: set_published(
                session=s, actor=p, package_id=package_id, published=bool(published), ip=ip
            ),
            "catalog.published_saved",
            self._refresh,
        )

    # --- items --------------------------------------------------------------------------

    @rx.event
    def new_item(self) -> None:
        """Open an empty item editor."""
        self._clear()
        self.item = {"id": "", "price": "0.00", "active": "1"}
        self.form_key += 1
        self.item_open = True

    @rx.event
    def edit_item(self, item_id: str) -> None:
        """Open the item editor on an item of the table (the service re-checks the id)."""
        self._clear()
        wanted = str(item_id)

        def read(session: Any, actor: Any) -> None:
            for i in list_items(session=session, actor=actor):
                if str(i.id) == wanted:
                    self.item = {
                        "id": str(i.id),
                        "code": i.code,
                        "name_zh": i.name_zh,
                        "name_en": i.name_en,
                        "description_zh": i.description_zh,
                        "description_en": i.description_en,
                        "price": i.price_yuan,
                        "resource_key": i.resource_key,
                        "active": "1" if i.active else "",
                    }
                    self.form_key += 1
                    self.item_open = True

        self._run(PrincipalKind.STAFF, read, self._fail)

    @rx.event
    def set_item_open(self, value: bool) -> None:
        """Close (or open) the item editor."""
        self.item_open = bool(value)
        if not self.item_open:
            self.field_errors = {}

    @rx.event
    def save_item(self, form: dict[str, Any]) -> Any:
        """Create or change an exam item."""
        self._clear()
        ip, _ua = self._client()
        item_id = self.item.get("id") or None
        return self._save(
            lambda s, p: save_item(
                session=s,
                actor=p,
                item_id=item_id,
                code=form_str(form, "code"),
                name_zh=form_str(form, "name_zh"),
                name_en=form_str(form, "name_en"),
                description_zh=form_str(form, "description_zh"),
                description_en=form_str(form, "description_en"),
                price_yuan=form_str(form, "price"),
                resource_key=form_str(form, "resource_key"),
                active=form_checked(form, "active"),
                ip=ip,
            ),
            "item_open",
        )

    # --- categories ---------------------------------------------------------------------

    @rx.event
    def new_category(self) -> None:
        """Open an empty category editor."""
        self._clear()
        self.cat = {"id": "", "sort_order": "0", "active": "1"}
        self.form_key += 1
        self.cat_open = True

    @rx.event
    def edit_category(self, category_id: str) -> None:
        """Open the category editor on a row of the table."""
        self._clear()
        for c in self.categories:
            if c["id"] == str(category_id):
                self.cat = dict(c)
                self.form_key += 1
                self.cat_open = True

    @rx.event
    def set_cat_open(self, value: bool) -> None:
        """Close (or open) the category editor."""
        self.cat_open = bool(value)
        if not self.cat_open:
            self.field_errors = {}

    @rx.event
    def save_category(self, form: dict[str, Any]) -> Any:
        """Create or change a category."""
        self._clear()
        ip, _ua = self._client()
        cat_id = self.cat.get("id") or None
        return self._save(
            lambda s, p: save_category(
                session=s,
                actor=p,
                category_id=cat_id,
                name_zh=form_str(form, "name_zh"),
                name_en=form_str(form, "name_en"),
                sort_order=form_str(form, "sort_order"),
                active=form_checked(form, "active"),
                ip=ip,
            ),
            "cat_open",
        )


# --- pieces -------------------------------------------------------------------------------


def _label(key: str, html_for: str) -> rx.Component:
    return rx.el.label(t(key), html_for=html_for, style={"fontSize": "14px", "fontWeight": 500})


def _error(name: Any) -> rx.Component:
    err = CatalogState.field_errors[name]
    return rx.cond(err, rx.text(err, size="1", color_scheme="red", id="err-" + name))


def _area(label_key: str, name: str, default: Any, rows: str = "3") -> rx.Component:
    return rx.vstack(
        _label(label_key, f"f-{name}"),
        rx.text_area(name=name, id=f"f-{name}", default_value=default, rows=rows, width="100%"),
        _error(name),
        spacing="1",
        width="100%",
    )


def _checkbox(name: Any, checked: Any, label: Any, id: Any = None) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.el.input(
                type="checkbox", name=name, default_checked=checked, id=name if id is None else id
            ),
            rx.text(label, size="2"),
            align="center",
            spacing="2",
        ),
        style={"cursor": "pointer"},
    )


def _active_badge(active: Any) -> rx.Component:
    return rx.cond(
        active == "1",
        rx.badge(t("catalog.active"), color_scheme="green", variant="soft"),
        rx.badge(t("catalog.inactive"), color_scheme="gray", variant="soft"),
    )


# --- packages tab -------------------------------------------------------------------------


def _package_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = CatalogState
    pid = r["id"].to(int)
    return rx.table.row(
        rx.table.cell(r["code"]),
        rx.table.cell(rx.cond(AppState.lang == "en", r["name_en"], r["name"])),
        rx.table.cell(r["category"]),
        rx.table.cell(
            rx.text(r["sale"], weight="medium"), rx.text(r["list"], size="1", color_scheme="gray")
        ),
        rx.table.cell(r["items"], " / ", r["addons"], " / ", r["locations"]),
        rx.table.cell(
            rx.switch(
                checked=r["published"] == "1",
                on_change=lambda v: s.toggle_published(pid, v),
                id="publish-" + r["code"],
            )
        ),
        rx.table.cell(
            rx.button(
                rx.icon("pencil", size=14),
                t("catalog.edit"),
                size="1",
                variant="soft",
                on_click=s.edit_package(pid),
                id="edit-" + r["code"],
            )
        ),
        id="package-" + r["code"],
    )


def _pkg_item_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            _checkbox("inc_" + r["id"], r["inc"] == "1", r["label"], id="inc-" + r["id"])
        ),
        rx.table.cell(rx.cond(r["active"] == "1", rx.fragment(), _active_badge(r["active"]))),
        rx.table.cell(
            _checkbox(
                "addon_" + r["id"], r["addon"] == "1", t("catalog.as_addon"), id="addon-" + r["id"]
            )
        ),
        rx.table.cell(
            rx.input(
                name="addon_price_" + r["id"],
                default_value=r["addon_price"],
                size="1",
                width="100px",
                id="addon-price-" + r["id"],
            ),
            _error("addon_" + r["id"]),
        ),
    )


def _package_editor() -> rx.Component:
    s = CatalogState
    p = s.pkg
    category_select = rx.vstack(
        _label("catalog.category", "f-category_id"),
        rx.el.select(
            rx.el.option(t("catalog.no_category"), value=""),
            rx.foreach(s.pkg_categories, lambda c: rx.el.option(c["label"], value=c["id"])),
            name="category_id",
            id="f-category_id",
            default_value=p["category_id"],
            style={
                "width": "100%",
                "padding": "8px",
                "borderRadius": "6px",
                "border": "1px solid var(--gray-7)",
            },
        ),
        _error("category_id"),
        spacing="1",
        width="100%",
    )
    basics = rx.grid(
        field(s, "catalog.code", "code", default_value=p["code"]),
        category_select,
        field(s, "catalog.name_zh", "name_zh", default_value=p["name_zh"]),
        field(s, "catalog.name_en", "name_en", default_value=p["name_en"]),
        field(
            s,
            "catalog.list_price",
            "list_price",
            default_value=p["list_price"],
            placeholder="1299.00",
        ),
        field(
            s,
            "catalog.sale_price",
            "sale_price",
            default_value=p["sale_price"],
            placeholder="999.00",
        ),
        select_field(
            s, "catalog.target_sex", "target_sex", SEX_OPTIONS, default_value=p["target_sex"]
        ),
        rx.hstack(
            field(s, "catalog.min_age", "min_age", default_value=p["min_age"]),
            field(s, "catalog.max_age", "max_age", default_value=p["max_age"]),
            width="100%",
        ),
        field(s, "catalog.sort_order", "sort_order", default_value=p["sort_order"]),
        field(
            s,
            "catalog.image_url",
            "image_url",
            default_value=p["image_url"],
            placeholder="https://",
        ),
        columns="2",
        spacing="3",
        width="100%",
    )
    texts = rx.grid(
        _area("catalog.summary_zh", "summary_zh", p["summary_zh"], "2"),
        _area("catalog.summary_en", "summary_en", p["summary_en"], "2"),
        _area("catalog.description_zh", "description_zh", p["description_zh"]),
        _area("catalog.description_en", "description_en", p["description_en"]),
        _area("catalog.instructions_zh", "instructions_zh", p["instructions_zh"]),
        _area("catalog.instructions_en", "instructions_en", p["instructions_en"]),
        columns="2",
        spacing="3",
        width="100%",
    )
    items = rx.vstack(
        rx.heading(t("catalog.items_and_addons"), size="3"),
        rx.text(t("catalog.items_hint"), size="1", color_scheme="gray"),
        _error("item_ids"),
        _error("addons"),
        rx.box(
            rx.table.root(
                rx.table.body(rx.foreach(s.pkg_items, _pkg_item_row)), size="1", width="100%"
            ),
            max_height="260px",
            overflow_y="auto",
            width="100%",
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="6px",
        ),
        spacing="1",
        width="100%",
    )
    locations = rx.vstack(
        rx.heading(t("catalog.locations"), size="3"),
        _error("location_ids"),
        rx.foreach(
            s.pkg_locations,
            lambda x: _checkbox(
                "loc_" + x["id"],
                x["on"] == "1",
                x["label"] + "  " + x["address"],
                id="loc-" + x["id"],
            ),
        ),
        rx.cond(
            s.pkg_locations.length() == 0,  # type: ignore[attr-defined]
            rx.text(t("catalog.no_locations"), size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(s.pkg_id == "", t("catalog.new_package"), t("catalog.edit_package"))
            ),
            rx.form(
                rx.vstack(
                    form_error(s, where="dialog"),
                    basics,
                    _checkbox(
                        "fasting_required",
                        p["fasting_required"] == "1",
                        t("catalog.fasting_required"),
                        id="f-fasting_required",
                    ),
                    texts,
                    items,
                    locations,
                    dialog_footer("common.save", "save-package"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=s.save_package,
                key=s.form_key,
                width="100%",
            ),
            max_width="920px",
            max_height="90vh",
            overflow_y="auto",
        ),
        open=s.pkg_open,
        on_open_change=s.set_pkg_open,
    )


def _packages_tab() -> rx.Component:
    s = CatalogState
    return rx.vstack(
        rx.hstack(
            rx.text(t("catalog.packages_hint"), size="2", color_scheme="gray"),
            rx.spacer(),
            add_button("catalog.new_package", s.new_package, "new-package"),
            width="100%",
            align="center",
        ),
        data_table(
            [
                "catalog.code",
                "catalog.name",
                "catalog.category",
                "catalog.price",
                "catalog.counts",
                "catalog.published",
                "common.actions",
            ],
            rx.foreach(s.packages, _package_row),
            "packages-table",
        ),
        _package_editor(),
        spacing="3",
        width="100%",
    )


# --- items tab ----------------------------------------------------------------------------


def _item_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = CatalogState
    return rx.table.row(
        rx.table.cell(r["code"]),
        rx.table.cell(r["name"], rx.text(r["name_en"], size="1", color_scheme="gray")),
        rx.table.cell(r["price"]),
        rx.table.cell(rx.cond(r["resource_key"] != "", rx.code(r["resource_key"]), "")),
        rx.table.cell(_active_badge(r["active"])),
        rx.table.cell(
            rx.button(
                t("catalog.edit"),
                size="1",
                variant="soft",
                on_click=s.edit_item(r["id"]),
                id="edit-item-" + r["code"],
            )
        ),
        id="item-" + r["code"],
    )


def _item_editor() -> rx.Component:
    s = CatalogState
    i = s.item
    return form_dialog(
        s,
        open_var=s.item_open,
        on_open_change=s.set_item_open,
        on_submit=s.save_item,
        trigger=add_button("catalog.new_item", s.new_item, "new-item"),
        title="catalog.item_title",
        fields=[
            rx.fragment(
                field(s, "catalog.code", "code", default_value=i["code"]),
                field(s, "catalog.name_zh", "name_zh", default_value=i["name_zh"]),
                field(s, "catalog.name_en", "name_en", default_value=i["name_en"]),
                field(
                    s, "catalog.item_price", "price", default_value=i["price"], placeholder="350.00"
                ),
                field(
                    s,
                    "catalog.resource_key",
                    "resource_key",
                    default_value=i["resource_key"],
                    hint_key="catalog.resource_key_hint",
                    placeholder="ct",
                ),
                _area("catalog.description_zh", "description_zh", i["description_zh"], "2"),
                _area("catalog.description_en", "description_en", i["description_en"], "2"),
                _checkbox("active", i["active"] == "1", t("catalog.active"), id="f-active"),
                key=s.form_key,
            )
        ],
        submit_key="common.save",
        submit_id="save-item",
        max_width="560px",
    )


def _items_tab() -> rx.Component:
    s = CatalogState
    return rx.vstack(
        rx.hstack(rx.spacer(), _item_editor(), width="100%"),
        data_table(
            [
                "catalog.code",
                "catalog.name",
                "catalog.item_price",
                "catalog.resource_key",
                "common.status",
                "common.actions",
            ],
            rx.foreach(s.items, _item_row),
            "items-table",
        ),
        spacing="3",
        width="100%",
    )


# --- categories tab -----------------------------------------------------------------------


def _category_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = CatalogState
    return rx.table.row(
        rx.table.cell(r["name"], rx.text(r["name_en"], size="1", color_scheme="gray")),
        rx.table.cell(r["sort_order"]),
        rx.table.cell(r["packages"]),
        rx.table.cell(_active_badge(r["active"])),
        rx.table.cell(
            rx.button(
                t("catalog.edit"),
                size="1",
                variant="soft",
                on_click=s.edit_category(r["id"]),
                id="edit-category-" + r["id"],
            )
        ),
    )


def _category_editor() -> rx.Component:
    s = CatalogState
    c = s.cat
    return form_dialog(
        s,
        open_var=s.cat_open,
        on_open_change=s.set_cat_open,
        on_submit=s.save_category,
        trigger=add_button("catalog.new_category", s.new_category, "new-category"),
        title="catalog.category_title",
        fields=[
            rx.fragment(
                field(s, "catalog.name_zh", "name_zh", default_value=c["name"]),
                field(s, "catalog.name_en", "name_en", default_value=c["name_en"]),
                field(s, "catalog.sort_order", "sort_order", default_value=c["sort_order"]),
                _checkbox("active", c["active"] == "1", t("catalog.active"), id="f-cat-active"),
                key=s.form_key,
            )
        ],
        submit_key="common.save",
        submit_id="save-category",
    )


def _categories_tab() -> rx.Component:
    s = CatalogState
    return rx.vstack(
        rx.hstack(rx.spacer(), _category_editor(), width="100%"),
        data_table(
            [
                "catalog.name",
                "catalog.sort_order",
                "catalog.package_count",
                "common.status",
                "common.actions",
            ],
            rx.foreach(s.categories, _category_row),
            "categories-table",
        ),
        spacing="3",
        width="100%",
    )


@page("/admin/catalog", title="Catalog", on_load=CatalogState.load)
def catalog_page() -> rx.Component:
    """Packages, items and categories."""
    s = CatalogState
    return admin_layout(
        rx.vstack(
            rx.heading(t("catalog.title"), size="6"),
            rx.cond(~s.pkg_open & ~s.item_open & ~s.cat_open, form_error(s)),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(t("catalog.tab_packages"), value="packages", id="tab-packages"),
                    rx.tabs.trigger(t("catalog.tab_items"), value="items", id="tab-items"),
                    rx.tabs.trigger(
                        t("catalog.tab_categories"), value="categories", id="tab-categories"
                    ),
                ),
                rx.tabs.content(_packages_tab(), value="packages", padding_top="12px"),
                rx.tabs.content(_items_tab(), value="items", padding_top="12px"),
                rx.tabs.content(_categories_tab(), value="categories", padding_top="12px"),
                value=s.tab,
                on_change=s.set_tab,
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        active="catalog",
    )
