"""Operations commands: `python -m prm_saas.cli migrate | demo | create-operator`."""

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


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="prm_saas.cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="upgrade the database schema")
    sub.add_parser("demo", help="load the demo tenants, staff, patients and operator")
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
