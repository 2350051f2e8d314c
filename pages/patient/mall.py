"""The health-check mall (体检商城) for patients, mobile-first: search, shelves
(category chips), filters, package cards; and a package's detail page with a
button to book it. Public within a tenant: no sign-in is needed to browse.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.patients import my_profile
from prm_saas.display import yuan
from prm_saas.mall.money import parse_yuan
from prm_saas.mall.pricing import age_on
from prm_saas.mall.services import (
    PackageCard,
    mall_categories,
    mall_locations,
    package_detail,
    published_packages,
)
from prm_saas.mall.views import record_view
from tenants.db import TenantSession, tenant_session
from tenants.errors import NotFound
from tenants.types import utcnow

# The price filter's steps, in yuan ("" = any price).
PRICE_STEPS = ("", "500", "1000", "2000", "3000", "5000")
SEXES = (("", "mall.sex_any"), ("male", "mall.sex_male"), ("female", "mall.sex_female"))


def _en(en: str, zh: str) -> str:
    """The English text, or the Chinese one when the clinic gave none."""
    return en or zh


def _card_row(c: PackageCard) -> dict[str, str]:
    return {
        "id": str(c.id),
        "name_zh": c.name_zh,
        "name_en": _en(c.name_en, c.name_zh),
        "summary_zh": c.summary_zh,
        "summary_en": _en(c.summary_en, c.summary_zh),
        "category_zh": c.category_zh,
        "category_en": _en(c.category_en, c.category_zh),
        "sale": yuan(c.sale_price_fen),
        "list": yuan(c.list_price_fen) if c.discount_fen > 0 else "",
        "save": yuan(c.discount_fen) if c.discount_fen > 0 else "",
        "items": str(c.item_count),
        "image": c.image_url,
        "sex": c.target_sex,
        "ages": _ages(c.min_age, c.max_age),
        "fasting": "1" if c.fasting_required else "",
    }


def _num(value: str) -> int | None:
    """A whole number typed or picked in a filter, else None (no filter)."""
    v = value.strip()
    return int(v) if v.isdigit() and len(v) <= 9 else None


def _ages(lo: int, hi: int) -> str:
    if lo <= 0 and hi >= 120:
        return ""
    if hi >= 120:
        return f"{lo}+"
    return f"{lo}–{hi}"


def _local(zh: Any, en: Any) -> Any:
    """Pick the row's text in the UI language."""
    return rx.cond(AppState.lang == "en", en, zh)


class MallState(FormMixin, PatientState):
    """The list and its filters. Filters are public input: the service ignores
    values that make no sense."""

    query: str = ""
    category: str = ""
    sex: str = ""
    age: str = ""
    max_price: str = ""
    location: str = ""
    show_filters: bool = False
    cards: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    categories: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    searched: bool = False

    def _fetch(self) -> None:
        tenant = self._tenant()
        max_fen = parse_yuan(self.max_price) if self.max_price else None
        age = self.age.strip()

        def read() -> None:
            with tenant_session(tenant.id) as s:
                self.cards = [
                    _card_row(c)
                    for c in published_packages(
                        session=s,
                        query=self.query,
                        category_id=_num(self.category),
                        location_id=_num(self.location),
                        sex=self.sex or None,
                        age=_num(age),
                        max_price_fen=max_fen,
                    )
                ]

        self._attempt(read, self._fail)
        self.searched = True

    def _fetch_shelves(self) -> None:
        tenant = self._tenant()
        with tenant_session(tenant.id) as s:
            self.categories = [
                {"id": str(c.id), "zh": c.name_zh, "en": _en(c.name_en, c.name_zh)}
                for c in mall_categories(session=s)
            ]
            self.locations = [
                {"id": str(x.id), "zh": x.name_zh, "en": _en(x.name_en, x.name_zh)}
                for x in mall_locations(session=s)
            ]

    @rx.event
    def load(self) -> Any:
        """The mall of the tenant of this address, for anyone."""
        self._clear()
        self._load(None)
        if self.page_status != "ok":
            return None
        if self._resolution().tenant is None:
            self.page_status = "not_found"  # the platform's own host has no mall
            return None
        cat = self.router.url.query_parameters.get("category", "")
        self.category = cat if cat.isdigit() else ""
        self._fetch_shelves()
        self._fetch()
        if self.patient_token:
            self._refresh_unread()  # the tab badge; never a redirect from a public page
        return None

    @rx.event
    def search(self, form: dict[str, Any]) -> None:
        """Search by words (names, summaries, item names)."""
        q = form.get("q", "") if isinstance(form, dict) else ""
        self.query = q[:60] if isinstance(q, str) else ""
        self._clear()
        self._fetch()

    @rx.event
    def pick_category(self, category_id: str) -> None:
        """A shelf chip (again on the same chip: all shelves)."""
        value = category_id if isinstance(category_id, str) and category_id.isdigit() else ""
        self.category = "" if value == self.category else value
        self._fetch()

    @rx.event
    def set_filter(self, name: str, value: str) -> None:
        """One of the filters (sex, age, price, location) changed."""
        if name not in ("sex", "age", "max_price", "location") or not isinstance(value, str):
            return
        setattr(self, name, value[:10])
        self._fetch()

    @rx.event
    def for_me(self) -> Any:
        """Filter by the signed-in patient's own sex and age (on today's date); a
        visitor is asked to sign in first."""
        self._clear()
        today = utcnow().astimezone(ZoneInfo(self._tenant().timezone)).date()
        profile, ev = self._run(
            PrincipalKind.PATIENT, lambda s, p: my_profile(session=s, actor=p), self._fail
        )
        if ev is not None or profile is None:
            return ev
        self.sex = str(profile.sex) if str(profile.sex) in ("male", "female") else ""
        self.age = str(age_on(profile.birth_date, today)) if profile.birth_date else ""
        self.show_filters = True
        self._fetch()
        return None

    @rx.event
    def toggle_filters(self) -> None:
        """Show or hide the filter panel."""
        self.show_filters = not self.show_filters

    @rx.event
    def clear_filters(self) -> None:
        """Back to everything."""
        self.query = self.category = self.sex = self.age = self.max_price = self.location = ""
        self._fetch()


def price_tag(sale: Any, listed: Any, *, size: str = "5") -> rx.Component:
    """Sale price in red, the list price struck through beside it."""
    return rx.hstack(
        rx.text(sale, size=size, weight="bold", color=rx.color("red", 10), class_name="sale-price"),
        rx.cond(
            listed != "",
            rx.text(listed, size="1", color_scheme="gray", text_decoration="line-through"),
        ),
        align="baseline",
        spacing="2",
    )


def _card(c: rx.Var[dict[str, str]]) -> rx.Component:
    image = rx.cond(
        c["image"] != "",
        rx.image(
            src=c["image"],
            width="88px",
            min_width="88px",
            height="88px",
            object_fit="cover",
            border_radius="8px",
            alt="",
        ),
        rx.center(
            rx.icon("heart-pulse", size=32, color="white"),
            width="88px",
            min_width="88px",
            height="88px",
            border_radius="8px",
            background=AppState.tenant_color,
            opacity="0.85",
        ),
    )
    badges = rx.hstack(
        rx.cond(
            c["category_zh"] != "",
            rx.badge(_local(c["category_zh"], c["category_en"]), variant="soft"),
        ),
        rx.badge(c["items"], t("mall.items_unit"), variant="outline", color_scheme="gray"),
        rx.cond(
            c["sex"] == "female",
            rx.badge(t("mall.sex_female"), color_scheme="pink", variant="soft"),
        ),
        rx.cond(
            c["sex"] == "male",
            rx.badge(t("mall.sex_male"), color_scheme="blue", variant="soft"),
        ),
        rx.cond(
            c["ages"] != "",
            rx.badge(c["ages"], t("mall.years"), variant="soft", color_scheme="gray"),
        ),
        spacing="1",
        wrap="wrap",
    )
    return rx.link(
        rx.hstack(
            image,
            rx.vstack(
                rx.text(
                    _local(c["name_zh"], c["name_en"]),
                    size="3",
                    weight="bold",
                    class_name="package-name",
                ),
                rx.cond(
                    c["summary_zh"] != "",
                    rx.text(
                        _local(c["summary_zh"], c["summary_en"]),
                        size="1",
                        color_scheme="gray",
                        overflow="hidden",
                        text_overflow="ellipsis",
                        white_space="nowrap",
                        max_width="100%",
                    ),
                ),
                badges,
                rx.hstack(
                    price_tag(c["sale"], c["list"], size="4"),
                    rx.spacer(),
                    rx.cond(
                        c["save"] != "",
                        rx.badge(
                            t("mall.save"), " ", c["save"], color_scheme="red", variant="soft"
                        ),
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="1",
                align="start",
                min_width="0",
                flex="1",
            ),
            spacing="3",
            align="start",
            width="100%",
        ),
        href=AppState.base_path + "/mall/" + c["id"],
        id="package-" + c["id"],
        underline="none",
        color="inherit",
        padding="12px",
        border=f"1px solid {rx.color('gray', 4)}",
        border_radius="12px",
        width="100%",
        display="block",
        background=rx.color("gray", 1),
    )


def _chip(label: Any, active: Any, on_click: Any, id: Any) -> rx.Component:
    return rx.button(
        label,
        size="2",
        radius="full",
        variant=rx.cond(active, "solid", "soft"),
        color_scheme=rx.cond(active, "teal", "gray"),
        on_click=on_click,
        id=id,
        flex_shrink="0",
    )


def _select(name: str, value: Any, options: list[rx.Component]) -> rx.Component:
    return rx.el.select(
        *options,
        value=value,
        on_change=lambda v: MallState.set_filter(name, v),
        id=f"filter-{name}",
        style={
            "width": "100%",
            "padding": "10px 8px",
            "borderRadius": "8px",
            "border": "1px solid var(--gray-6)",
            "background": "var(--color-surface)",
            "fontSize": "15px",
        },
    )


def _filters() -> rx.Component:
    s = MallState
    label_style = {"fontSize": "13px", "color": "var(--gray-11)"}
    return rx.cond(
        s.show_filters,
        rx.grid(
            rx.vstack(
                rx.el.label(t("mall.filter_sex"), style=label_style),
                _select("sex", s.sex, [rx.el.option(t(k), value=v) for v, k in SEXES]),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label(t("mall.filter_age"), style=label_style),
                rx.input(
                    value=s.age,
                    on_change=lambda v: MallState.set_filter("age", v),
                    type="number",
                    placeholder=t("mall.age_placeholder"),
                    id="filter-age",
                    size="3",
                    debounce_timeout=400,
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label(t("mall.filter_price"), style=label_style),
                _select(
                    "max_price",
                    s.max_price,
                    [
                        rx.el.option(t("mall.price_any") if v == "" else f"≤ ¥{v}", value=v)
                        for v in PRICE_STEPS
                    ],
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label(t("mall.filter_location"), style=label_style),
                _select(
                    "location",
                    s.location,
                    [
                        rx.el.option(t("mall.location_any"), value=""),
                        rx.foreach(
                            s.locations,
                            lambda x: rx.el.option(_local(x["zh"], x["en"]), value=x["id"]),
                        ),
                    ],
                ),
                spacing="1",
            ),
            columns="2",
            spacing="3",
            width="100%",
            padding="12px",
            border_radius="10px",
            background=rx.color("gray", 2),
            id="mall-filters",
        ),
    )


@page("/mall", title="Mall", on_load=MallState.load)
def mall_page() -> rx.Component:
    """The mall: search, shelves, filters, cards."""
    s = MallState
    search = rx.form(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                name="q",
                default_value=s.query,
                placeholder=t("mall.search_placeholder"),
                type="search",
                size="3",
                width="100%",
                id="mall-search",
            ),
            rx.icon_button(
                rx.icon("sliders-horizontal", size=18),
                type="button",
                size="3",
                variant=rx.cond(s.show_filters, "solid", "soft"),
                on_click=s.toggle_filters,
                id="toggle-filters",
                aria_label=t("mall.filters"),
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=s.search,
        width="100%",
    )
    chips = rx.hstack(
        rx.button(
            rx.icon("user-check", size=14),
            t("mall.for_me"),
            size="2",
            variant="soft",
            color_scheme="teal",
            on_click=s.for_me,
            id="chip-for-me",
            white_space="nowrap",
        ),
        _chip(t("mall.all"), s.category == "", s.pick_category(""), "chip-all"),
        rx.foreach(
            s.categories,
            lambda c: _chip(
                _local(c["zh"], c["en"]),
                s.category == c["id"],
                s.pick_category(c["id"]),
                "chip-" + c["id"],
            ),
        ),
        spacing="2",
        width="100%",
        overflow_x="auto",
        padding_bottom="4px",
        id="mall-chips",
    )
    empty = rx.center(
        rx.vstack(
            rx.icon("search-x", size=40, color=rx.color("gray", 8)),
            rx.text(t("mall.empty"), color_scheme="gray"),
            rx.button(
                t("mall.clear_filters"),
                variant="soft",
                on_click=s.clear_filters,
                id="clear-filters",
            ),
            align="center",
            spacing="2",
        ),
        padding_y="48px",
        width="100%",
        id="mall-empty",
    )
    return patient_layout(
        rx.vstack(
            rx.heading(t("mall.title"), size="6"),
            search,
            chips,
            _filters(),
            form_error(s),
            rx.cond(
                s.cards.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(rx.foreach(s.cards, _card), spacing="3", width="100%", id="mall-list"),
                rx.cond(s.searched, empty),
            ),
            spacing="3",
            width="100%",
        ),
        active="mall",
    )


# --- detail ---------------------------------------------------------------------------


class MallDetailState(PatientState):
    """One package; its id comes from the address (/mall/<id>)."""

    shown_id: str = ""  # not "package_id": that name is the route argument
    info: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    items: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    addons: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    def _id_from_path(self) -> str:
        parts = [p for p in (self.router.url.path or "").split("/") if p]
        if len(parts) >= 2 and parts[-2] == "mall":
            return parts[-1]
        return ""

    @rx.event
    def load(self) -> Any:
        """The package of this address, or the 404 page."""
        self._load(None)
        if self.page_status != "ok":
            return None
        tenant = self._resolution().tenant
        if tenant is None:
            self.page_status = "not_found"
            return None
        try:
            with tenant_session(tenant.id) as s:
                d = package_detail(session=s, package_id=self._id_from_path())
        except NotFound:
            self.page_status = "not_found"
            return None
        c = d.card
        self.shown_id = str(c.id)
        self.info = {
            **_card_row(c),
            "description_zh": d.description_zh,
            "description_en": _en(d.description_en, d.description_zh),
            "instructions_zh": d.instructions_zh,
            "instructions_en": _en(d.instructions_en, d.instructions_zh),
        }
        self.items = [
            {
                "id": str(i.id),
                "zh": i.name_zh,
                "en": _en(i.name_en, i.name_zh),
                "desc_zh": i.description_zh,
                "desc_en": _en(i.description_en, i.description_zh),
            }
            for i in d.items
        ]
        self.addons = [
            {
                "id": str(a.item_id),
                "zh": a.name_zh,
                "en": _en(a.name_en, a.name_zh),
                "price": yuan(a.price_fen),
            }
            for a in d.addons
        ]
        self.locations = [
            {
                "id": str(x.id),
                "zh": x.name_zh,
                "en": _en(x.name_en, x.name_zh),
                "address": x.address,
                "phone": x.phone,
            }
            for x in d.locations
        ]
        self._count_view(tenant.id, c.id)
        if self.patient_token:
            self._refresh_unread()
        return None

    def _count_view(self, tenant_id: int, package_id: int) -> None:
        """The funnel's first step; a signed-in patient's view carries the patient."""

        def as_patient(s: TenantSession, p: Principal) -> None:
            record_view(session=s, package_id=package_id, actor=p)

        if self.patient_token:
            _done, _expired = self._run(PrincipalKind.PATIENT, as_patient, lambda _m, _f: None)
            if _expired is None:
                return
        with tenant_session(tenant_id) as s:
            record_view(session=s, package_id=package_id)


def _section(title_key: str, *children: rx.Component, id: str) -> rx.Component:
    return rx.vstack(
        rx.heading(t(title_key), size="3"),
        *children,
        spacing="2",
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('gray', 4)}",
        border_radius="12px",
        id=id,
    )


@page("/mall/[package_id]", title="Package", on_load=MallDetailState.load)
def package_page() -> rx.Component:
    """A package: price, what is included, add-ons, instructions, where; book it."""
    s = MallDetailState
    i = s.info
    header = rx.vstack(
        rx.cond(
            i["image"] != "",
            rx.image(
                src=i["image"],
                width="100%",
                max_height="200px",
                object_fit="cover",
                border_radius="12px",
                alt="",
            ),
        ),
        rx.heading(_local(i["name_zh"], i["name_en"]), size="5", id="package-name"),
        rx.cond(
            i["summary_zh"] != "",
            rx.text(_local(i["summary_zh"], i["summary_en"]), color_scheme="gray", size="2"),
        ),
        rx.hstack(
            price_tag(i["sale"], i["list"], size="6"),
            rx.spacer(),
            rx.cond(
                i["save"] != "",
                rx.badge(t("mall.save"), " ", i["save"], color_scheme="red", size="2"),
            ),
            width="100%",
            align="center",
        ),
        rx.hstack(
            rx.cond(
                i["category_zh"] != "",
                rx.badge(_local(i["category_zh"], i["category_en"]), variant="soft"),
            ),
            rx.badge(
                rx.match(
                    i["sex"],
                    ("female", t("mall.for_women")),
                    ("male", t("mall.for_men")),
                    t("mall.for_anyone"),
                ),
                variant="soft",
                color_scheme="gray",
            ),
            rx.cond(
                i["ages"] != "",
                rx.badge(
                    t("mall.ages"),
                    " ",
                    i["ages"],
                    t("mall.years"),
                    variant="soft",
                    color_scheme="gray",
                ),
            ),
            rx.cond(
                i["fasting"] == "1",
                rx.badge(
                    rx.icon("utensils-crossed", size=12), t("mall.fasting"), color_scheme="amber"
                ),
            ),
            spacing="1",
            wrap="wrap",
        ),
        spacing="2",
        width="100%",
    )
    items = _section(
        "mall.included",
        rx.foreach(
            s.items,
            lambda it: rx.hstack(
                rx.icon("circle-check", size=16, color=AppState.tenant_color, margin_top="2px"),
                rx.vstack(
                    rx.text(_local(it["zh"], it["en"]), size="2", weight="medium"),
                    rx.cond(
                        it["desc_zh"] != "",
                        rx.text(
                            _local(it["desc_zh"], it["desc_en"]), size="1", color_scheme="gray"
                        ),
                    ),
                    spacing="0",
                ),
                align="start",
                spacing="2",
                width="100%",
            ),
        ),
        id="package-items",
    )
    addons = rx.cond(
        s.addons.length() > 0,  # type: ignore[attr-defined]
        _section(
            "mall.addons",
            rx.text(t("mall.addons_hint"), size="1", color_scheme="gray"),
            rx.foreach(
                s.addons,
                lambda a: rx.hstack(
                    rx.icon("circle-plus", size=16, color=rx.color("gray", 9)),
                    rx.text(_local(a["zh"], a["en"]), size="2"),
                    rx.spacer(),
                    rx.text("+", a["price"], size="2", weight="medium"),
                    width="100%",
                    align="center",
                ),
            ),
            id="package-addons",
        ),
    )
    instructions = rx.cond(
        i["instructions_zh"] != "",
        _section(
            "mall.instructions",
            rx.text(
                _local(i["instructions_zh"], i["instructions_en"]),
                size="2",
                white_space="pre-wrap",
            ),
            id="package-instructions",
        ),
    )
    description = rx.cond(
        i["description_zh"] != "",
        _section(
            "mall.description",
            rx.text(
                _local(i["description_zh"], i["description_en"]), size="2", white_space="pre-wrap"
            ),
            id="package-description",
        ),
    )
    locations = _section(
        "mall.locations",
        rx.foreach(
            s.locations,
            lambda x: rx.vstack(
                rx.hstack(
                    rx.icon("map-pin", size=16, color=AppState.tenant_color),
                    rx.text(_local(x["zh"], x["en"]), size="2", weight="medium"),
                    align="center",
                    spacing="2",
                ),
                rx.cond(x["address"] != "", rx.text(x["address"], size="1", color_scheme="gray")),
                rx.cond(
                    x["phone"] != "",
                    rx.link(x["phone"], href="tel:" + x["phone"], size="1"),
                ),
                spacing="0",
                width="100%",
            ),
        ),
        id="package-locations",
    )
    book_bar = rx.hstack(
        rx.vstack(
            rx.text(t("mall.from_price"), size="1", color_scheme="gray"),
            rx.text(i["sale"], size="5", weight="bold", color=rx.color("red", 10)),
            spacing="0",
        ),
        rx.spacer(),
        rx.link(
            rx.button(t("mall.book"), size="3", id="book-button", style={"minWidth": "140px"}),
            href=AppState.base_path + "/book/" + s.shown_id,
            id="book-link",
        ),
        width="100%",
        align="center",
        padding="12px",
        border_radius="12px",
        background=rx.color("gray", 2),
        position="sticky",
        bottom="72px",
        z_index="5",
    )
    return patient_layout(
        rx.vstack(
            rx.link(
                rx.hstack(
                    rx.icon("chevron-left", size=16), t("mall.back"), align="center", spacing="1"
                ),
                href=AppState.base_path + "/mall",
                size="2",
                id="back-to-mall",
            ),
            header,
            items,
            addons,
            instructions,
            description,
            locations,
            book_bar,
            spacing="3",
            width="100%",
        ),
        active="mall",
    )
