"""The campaigns chart: sent messages and converted patients per campaign, the
same computed live (a campaign not rolled up yet) and kept by the roll-up, and
refreshed while its attribution window is open; another tenant's campaign with
the same id prefix never counts."""

from __future__ import annotations

from datetime import timedelta

from prm_saas.audiences.models import Audience
from prm_saas.booking.models import BookingStatus as BS
from prm_saas.campaigns.models import Campaign, CampaignStatus
from prm_saas.dashboards import rollup
from prm_saas.dashboards.charts import Chart
from prm_saas.dashboards.tenant import tenant_chart
from prm_saas.messaging.models import Category, Channel, Message, MessageStatus
from tenants.db import TenantSession, tenant_session
from tenants.resolution import TenantInfo
from tests.dashboards import builders as b
from tests.dashboards.builders import utc
from tests.factories import World

NOW = utc(2026, 12, 1, 2)


def _campaign(s: TenantSession, name: str) -> int:
    aud = Audience(name=f"aud-{name}", expression="VIP")
    s.add(aud)
    s.flush()
    c = Campaign(
        name=name,
        audience_id=aud.id or 0,
        status=CampaignStatus.DONE,
        attribution_days=7,
        created_at=utc(2026, 11, 1),
        updated_at=utc(2026, 11, 20),
    )
    s.add(c)
    s.flush()
    return int(c.id or 0)


def _sent(s: TenantSession, campaign_id: int, patient_id: int, at: object) -> None:
    s.add(
        Message(
            patient_id=patient_id,
            to_address="inbox",
            channel=Channel.INAPP,
            category=Category.MARKETING,
            template_key="content:1",
            dedupe_key=f"c{campaign_id}:{patient_id}",
            source=f"campaign:{campaign_id}:A:1",
            status=MessageStatus.SENT,
            sent_at=at,  # type: ignore[arg-type]
        )
    )
    s.flush()


def _seed(t: TenantInfo, *, recipients: int) -> tuple[int, list[int]]:
    with tenant_session(t.id) as s:
        cid = _campaign(s, "冬季体检关爱")
        people = [b.patient(s) for _ in range(recipients)]
        for p in people:
            _sent(s, cid, p, utc(2026, 11, 20, 1))
        loc, pkg = b.location(s, "一号院"), b.package(s)
        sl = b.slot(s, loc, utc(2026, 11, 25).date(), capacity=5, booked=1)
        # The first recipient books two days later: converted (and pays ¥500).
        bk = b.booking(
            s,
            patient_id=people[0],
            package_id=pkg,
            location_id=loc,
            slot_id=sl,
            status=BS.CONFIRMED,
            confirmed_at=utc(2026, 11, 22, 3),
        )
        b.order(
            s,
            patient_id=people[0],
            booking_id=bk,
            created_at=utc(2026, 11, 22, 3),
            paid_at=utc(2026, 11, 22, 3, 1),
            paid_fen=50000,
        )
        return cid, people


def _chart(world: World, now: object = NOW) -> Chart:
    with tenant_session(world.a.id) as s:
        return tenant_chart(
            session=s,
            actor=world.admin_a,
            key="campaigns",
            now=now,  # type: ignore[arg-type]
            start="2026-11-01",
            end="2026-11-30",
        )


def test_live_and_rolled_numbers_agree_and_stay_in_their_tenant(world: World) -> None:
    _seed(world.a, recipients=3)
    _seed(world.b, recipients=5)  # same campaign name, maybe the same id: not A's
    live = _chart(world)
    assert live.x == ["冬季体检关爱"]
    assert [s.values for s in live.series] == [[3], [1]]
    assert live.totals["revenue_fen"] == 50000
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=NOW)
    assert _chart(world) == live


def test_a_late_conversion_inside_the_window_is_picked_up_by_the_next_roll_up(
    world: World,
) -> None:
    _cid, people = _seed(world.a, recipients=3)
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=utc(2026, 11, 23))
    assert _chart(world).series[1].values == [1]
    with tenant_session(world.a.id) as s:
        loc, pkg = b.location(s, "二号院"), b.package(s)
        sl = b.slot(s, loc, utc(2026, 11, 28).date(), capacity=5, booked=1)
        b.booking(
            s,
            patient_id=people[1],
            package_id=pkg,
            location_id=loc,
            slot_id=sl,
            status=BS.CONFIRMED,
            confirmed_at=utc(2026, 11, 26, 3),
        )
    assert _chart(world).series[1].values == [1]  # kept numbers until the roll-up runs
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=utc(2026, 11, 26, 4))
    assert _chart(world).series[1].values == [2]
    # Long after the window closed the campaign is settled: no more recomputing.
    with tenant_session(world.a.id) as s:
        rollup.roll_up(s, now=utc(2026, 12, 1, 4) + timedelta(days=2))
        assert rollup._roll_campaigns(s, utc(2026, 12, 10)) == 0
