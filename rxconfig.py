"""Reflex configuration. Embedded defaults; Redis state when REDIS_URL is set."""

import os

import reflex as rx

_redis = os.environ.get("REDIS_URL") or None

config = rx.Config(
    app_name="prm_saas",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Several backend workers share client state through Redis in production.
    redis_url=_redis,
    state_manager_mode="redis" if _redis else "memory",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium"),
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
