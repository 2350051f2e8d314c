"""Kernel settings read from the environment.

Only what the tenancy kernel itself needs lives here; application settings
(mail, secrets, Celery) are in prm_saas.settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PRM_VAR_DIR", REPO_ROOT / "var"))


@dataclass(frozen=True)
class KernelSettings:
    """Database and host-resolution settings."""

    database_url: str
    base_domain: str


def load_kernel_settings() -> KernelSettings:
    """Read the kernel settings from the environment (embedded defaults)."""
    default_db = f"sqlite:///{VAR_DIR / 'prm.sqlite'}"
    return KernelSettings(
        database_url=os.environ.get("DATABASE_URL", default_db),
        # Tenants get <slug>.<base_domain> as a subdomain; "localhost" works in
        # browsers out of the box (clinic.localhost resolves to 127.0.0.1).
        base_domain=os.environ.get("PRM_BASE_DOMAIN", "localhost").lower(),
    )
