"""Tenant pages live twice: under /t/<slug> (local use) and at the root of a
tenant's own host (custom domain or subdomain). This registry records them
once; prm_saas.prm_saas adds both routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx


@dataclass(frozen=True)
class PageSpec:
    """A page to register."""

    path: str  # "/admin/staff"; "" for the tenant's home
    component: Callable[[], rx.Component]
    title: str
    on_load: Any
    tenant: bool  # True: register under /t/[slug] and at the host root


PAGES: list[PageSpec] = []


def page(
    path: str, *, title: str, on_load: Any = None, tenant: bool = True
) -> Callable[[Callable[[], rx.Component]], Callable[[], rx.Component]]:
    """Decorator: register a page component for ``path``."""

    def deco(fn: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        PAGES.append(PageSpec(path=path, component=fn, title=title, on_load=on_load, tenant=tenant))
        return fn

    return deco


def routes_of(spec: PageSpec) -> list[str]:
    """The URL routes a page is served at."""
    if not spec.tenant:
        return [spec.path or "/"]
    return [f"/t/[slug]{spec.path}", spec.path or "/"]
