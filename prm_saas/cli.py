"""Operations commands: `python -m prm_saas.cli <command>` (see --help)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def migrate() -> None:
    """Upgrade the database to the newest schema (as MIGRATION_DATABASE_URL's role)."""
    from alembic.config import Config

    from alembic import command

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    command.upgrade(cfg, "head")


def _rollup(slug: str | None, *, full: bool) -> int:
    from sqlmodel import col, select

    from prm_saas.dashboards.tasks import run_tenant
    from tenants.db import platform_session
    from tenants.models import Tenant
    from tenants.types import utcnow

    with platform_session() as s:
        q = select(Tenant.id, Tenant.slug).order_by(col(Tenant.id))
        if slug:
            q = q.where(Tenant.slug == slug)
        tenants = [(int(i or 0), sl) for i, sl in s.exec(q).all()]
    if slug and not tenants:
        print(f"no tenant {slug!r}", file=sys.stderr)
        return 2
    for tid, sl in tenants:
        result = run_tenant(tenant_id=tid, now=utcnow(), full=full)
        print(f"{sl}: through {result.rolled_through}, {result.rows} rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="prm_saas.cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="upgrade the database schema")
    sub.add_parser("demo", help="load the demo tenants, staff, patients and operator")
    roll = sub.add_parser(
        "dashboards-rollup", help="roll up the dashboards' finished days now (all tenants)"
    )
    roll.add_argument("--tenant", help="only this tenant (slug)")
    roll.add_argument("--full", action="store_true", help="recompute every day, not the last 14")
    op = sub.add_parser("create-operator", help="create a platform operator")
    op.add_argument("--email", required=True)
    op.add_argument("--name", required=True)
    args = parser.parse_args(argv)

    if args.cmd == "migrate":
        migrate()
    elif args.cmd == "demo":
        from prm_saas.demo import load_demo

        made = load_demo()
        print("demo data:", ", ".join(made) if made else "already loaded")
    elif args.cmd == "dashboards-rollup":
        return _rollup(args.tenant, full=args.full)
    elif args.cmd == "create-operator":
        from prm_saas.platform.services import create_operator
        from tenants.db import platform_session
        from tenants.errors import FieldErrors

        password = os.environ.get("PRM_OPERATOR_PASSWORD") or getpass.getpass("Password: ")
        try:
            with platform_session() as s:
                create_operator(session=s, email=args.email, name=args.name, password=password)
        except FieldErrors as exc:
            for field, (key, _params) in exc.errors.items():
                print(f"{field}: {key}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
