"""What every benchmark shares: the machine line, an empty schema at the newest
migration, and the generated block of docs/benchmarks.md it rewrites with
``--record``."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    """CPU count and model, Python version, e.g. '2 cores (AMD EPYC), Python 3.11.9'."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def rebuild_schema(owner: sa.Engine) -> None:
    """An empty schema at the newest migration, built as the owner."""
    with owner.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        conn.execute(sa.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["skip_logging"] = True
    command.upgrade(cfg, "head")


def record(name: str, markdown: str) -> None:
    """Replace the block of docs/benchmarks.md between the ``<name>-bench`` marks
    with ``markdown``."""
    begin = f"<!-- {name}-bench:begin (written by benchmarks/{name}.py --record) -->"
    end = f"<!-- {name}-bench:end -->"
    text = DOCS.read_text(encoding="utf-8")
    start, stop = text.index(begin), text.index(end)
    DOCS.write_text(
        text[: start + len(begin)] + "\n" + markdown + "\n" + text[stop:], encoding="utf-8"
    )
