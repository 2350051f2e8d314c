"""Browser tests: the production build served by `reflex run --env prod --single-port`
(as the README's run command does), a real SMTP sink, a real OIDC provider, and
headless Chromium driven by Playwright.

The server process shares the test database (SQLite file in WAL mode) with this
process, so tests arrange data through the factories and services directly and
check the browser's effects in the database. Data lives for the whole session
here (one server, one world), so tests use their own fresh names where they
create things.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from prm_saas.dashboards.charts import Chart
from tests.database import wipe_database
from tests.factories import World, make_world
from tests.localstripe import run_localstripe
from tests.oidc_provider import OidcProvider, run_provider
from tests.smtp_sink import MailSink, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# First build of the frontend on a fresh machine installs npm packages (minutes).
SERVER_START_TIMEOUT_S = 900


pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def clean_db(database: str) -> None:
    """Browser tests share one world for the session: no wipe between tests."""
    return


@pytest.fixture(scope="package")
def world(database: str) -> Iterator[World]:
    """Two tenants (clinic-a, center-b) with admins, staff, patients; one operator.

    Package-scoped, with the server and the sinks: when the browser tests are
    done everything they wrote is wiped and the server stopped, so tests
    collected after them in the same run start from empty tables as usual."""
    yield make_world()
    wipe_database()


@dataclass(frozen=True)
class Mailbox:
    """The session's SMTP sink and the port it listens on."""

    sink: MailSink
    port: int


@pytest.fixture(scope="package")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server the app process sends to."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield Mailbox(sink=sink, port=controller.port)
    controller.stop()


@pytest.fixture
def mail(mailbox: Mailbox) -> MailSink:
    """What the app has mailed so far."""
    return mailbox.sink


@pytest.fixture(scope="package")
def idp() -> Iterator[OidcProvider]:
    """A real OpenID Connect provider on a local port."""
    with run_provider() as provider:
        yield provider


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if (
                httpx.get(f"{url}/ping", timeout=2).status_code == 200
                and httpx.get(f"{url}/", timeout=5).status_code == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(
        f"server not ready after {SERVER_START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
    )


@pytest.fixture(scope="package")
def stripe_base() -> Iterator[str]:
    """A real localstripe the app process pays through (its Stripe.js included)."""
    with run_localstripe() as base:
        yield base


@pytest.fixture(scope="package")
def server(database: str, mailbox: Mailbox, world: World, stripe_base: str) -> Iterator[str]:
    """The app in production mode on a free port; yields its base URL."""
    port = free_port()
    url = f"http://localhost:{port}"
    var = Path(os.environ["PRM_VAR_DIR"])
    log = var / "e2e-server.log"
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_NPM": "1",
        "PRM_PUBLIC_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "CELERY_BROKER_URL": f"sqla+sqlite:///{var / 'e2e-broker.sqlite'}",
    }
    env.pop("REDIS_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
                "--loglevel",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


ARTIFACTS = ROOT / "var" / "test-artifacts"


def keep_artifact(page: Page, name: str) -> Path:
    """A full-page screenshot kept after the run as a test artifact:
    ``var/test-artifacts/<name>.png`` (``name`` may hold a folder, e.g.
    "dashboards/tenant"); checked to exist and not be empty."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.is_file()
    assert path.stat().st_size > 0
    return path


PLOT_TIMEOUT = 60_000  # the first chart loads plotly.js
PLOT_TRACES = "g.trace, g.hm, g.slice"  # lines and bars, heatmaps, pies


def expect_chart_cards(page: Page, charts: Sequence[Chart]) -> None:
    """Each chart of a dashboard service's answer is drawn: traces when it has
    data, the readable empty state (and no axes) when it has none."""
    expect(page.locator(".dash-card")).to_have_count(len(charts), timeout=PLOT_TIMEOUT)
    for chart in charts:
        card = page.locator(f"#chart-{chart.key}")
        expect(card).to_be_visible()
        if chart.empty:
            expect(card.locator(".dash-empty")).to_contain_text("所选时间范围内没有数据")
            expect(card.locator(".js-plotly-plot")).to_have_count(0)
        else:
            expect(card.locator(".js-plotly-plot .main-svg").first).to_be_visible(
                timeout=PLOT_TIMEOUT
            )
            assert card.locator(".js-plotly-plot").locator(PLOT_TRACES).count() > 0, chart.key


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (Playwright cannot download browsers here)."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A desktop viewport; patient tests switch to a phone-sized one themselves."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}, "locale": "zh-CN"}
