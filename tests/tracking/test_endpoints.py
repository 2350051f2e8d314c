"""The tracking endpoints and the tenant wall: an unknown or malformed code is a 404
page, a code or token of tenant B never records against tenant A (the same answer
as not found), and a tenant's host does not serve another tenant's links."""

from __future__ import annotations

import httpx

from prm_saas.messaging.models import Channel, Message
from prm_saas.tracking.links import open_token, rewrite_links
from tenants.db import tenant_session
from tenants.models import TenantStatus
from tenants.settings import load_kernel_settings
from tenants.types import utcnow
from tests.factories import World, change_status
from tests.sms_provider import send_due
from tests.smtp_sink import MailSink
from tests.tracking.builders import enqueue_tip, events, links, sent_message

OFFER = "https://clinic.example.com/offer"


def tracked(world: World, which: str) -> tuple[str, int]:
    """A tracked link of tenant ``which`` (its code) and its message id."""
    tenant = world.a if which == "a" else world.b
    patient = world.patient_a if which == "a" else world.patient_b
    msg_id = sent_message(tenant, patient.id, source="campaign:1:A:1")
    with tenant_session(tenant.id) as s:
        msg = s.get(Message, msg_id)
        assert msg is not None
        rewrite_links(s, message=msg, body=f"go {OFFER}", origin="http://x", now=utcnow())
    (link,) = links(tenant, msg_id)
    return link.code, msg_id


def test_an_unknown_or_malformed_code_is_a_404_page(world: World, app_server: str) -> None:
    # given tenant A has a tracked link
    code, _msg = tracked(world, "a")
    other = "A" * 8 if code != "A" * 8 else "B" * 8
    # when codes it does not have are asked for
    for path in (
        f"{world.a.id}-{other}",
        f"{world.a.id}-{code[:-1]}",
        code,
        f"0-{code}",
        f"{world.a.id}-{code}x",
        "https:%2F%2Fevil.example",
        f"999999-{code}",
    ):
        r = httpx.get(f"{app_server}/api/t/c/{path}", follow_redirects=False)
        # then each is the same 404 page in both languages, and nothing is recorded
        assert r.status_code == 404, path
        assert "链接无效" in r.text
        assert "Link not found" in r.text
        assert "location" not in r.headers
    assert events(world.a) == []
    assert events(world.b) == []


def test_a_code_of_tenant_b_never_records_against_tenant_a(world: World, app_server: str) -> None:
    # given each tenant has a tracked link
    tracked(world, "a")
    code_b, _ = tracked(world, "b")
    unknown = httpx.get(f"{app_server}/api/t/c/{world.a.id}-{'Z' * 8}")
    # when B's code is presented as tenant A's
    r = httpx.get(f"{app_server}/api/t/c/{world.a.id}-{code_b}", follow_redirects=False)
    # then it is the same answer as an unknown code, and nothing is recorded anywhere
    assert unknown.status_code == 404
    assert (r.status_code, r.text) == (unknown.status_code, unknown.text)
    assert events(world.a) == []
    assert events(world.b) == []
    # while each code works under its own tenant, recording there only
    r_b = httpx.get(f"{app_server}/api/t/c/{world.b.id}-{code_b}", follow_redirects=False)
    assert r_b.status_code == 302
    assert r_b.headers["location"] == OFFER
    assert events(world.a) == []
    assert {e.tenant_id for e in events(world.b)} == {world.b.id}


def test_a_tenants_host_does_not_serve_another_tenants_link(world: World, app_server: str) -> None:
    # given tenant B's link, and tenant A's subdomain
    code_b, _ = tracked(world, "b")
    base = load_kernel_settings().base_domain
    # when it is asked for on A's host
    r = httpx.get(
        f"{app_server}/api/t/c/{world.b.id}-{code_b}",
        headers={"Host": f"{world.a.slug}.{base}"},
        follow_redirects=False,
    )
    # then it is not found, and nothing is recorded
    assert r.status_code == 404
    assert events(world.b) == []
    # while on B's own host it works
    r = httpx.get(
        f"{app_server}/api/t/c/{world.b.id}-{code_b}",
        headers={"Host": f"{world.b.slug}.{base}"},
        follow_redirects=False,
    )
    assert r.status_code == 302
    assert r.headers["location"] == OFFER


def test_an_open_token_of_tenant_b_never_records_against_tenant_a(
    world: World, app_server: str
) -> None:
    # given a message in each tenant
    sent_message(world.a, world.patient_a.id, source="campaign:1:A:1")
    msg_b = sent_message(world.b, world.patient_b.id, source="campaign:1:A:1")
    # when pixels are fetched with a validly signed token naming tenant A and B's
    # message, with B's token re-labelled as tenant A's, and with B's own token
    token_b = open_token(world.b.id, msg_b)
    forged = f"{world.a.id}." + token_b.split(".", 1)[1]
    for token in (open_token(world.a.id, msg_b), forged):
        r = httpx.get(f"{app_server}/api/t/o/{token}")
        # then the first two answer the GIF like any other and record nothing
        assert r.status_code == 200
        assert r.content.startswith(b"GIF89a")
    assert events(world.a) == []
    assert events(world.b) == []
    assert httpx.get(f"{app_server}/api/t/o/{token_b}").status_code == 200
    # and B's own token records B's open only
    assert [(e.message_id, e.patient_id) for e in events(world.b)] == [(msg_b, world.patient_b.id)]
    assert events(world.a) == []


def test_the_same_url_in_two_tenants_gets_codes_that_work_only_in_their_own(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given both tenants send a marketing email with the same link
    enqueue_tip(world.a, world.patient_a.id, f"看 {OFFER}", channel=Channel.EMAIL)
    enqueue_tip(world.b, world.patient_b.id, f"看 {OFFER}", channel=Channel.EMAIL)
    send_due(world.a)
    send_due(world.b)
    (link_a,) = links(world.a)
    (link_b,) = links(world.b)
    # when each patient clicks their own link
    for tenant, link in ((world.a, link_a), (world.b, link_b)):
        r = httpx.get(f"{app_server}/api/t/c/{tenant.id}-{link.code}", follow_redirects=False)
        assert r.status_code == 302
    # then each tenant has exactly its own patient's click
    assert [(e.patient_id, e.link_id) for e in events(world.a)] == [(world.patient_a.id, link_a.id)]
    assert [(e.patient_id, e.link_id) for e in events(world.b)] == [(world.patient_b.id, link_b.id)]


def test_a_suspended_tenants_links_still_redirect_and_count(world: World, app_server: str) -> None:
    # given tenant A's link, and A is then suspended (read-only)
    code, msg_id = tracked(world, "a")
    change_status(world.a, TenantStatus.SUSPENDED)
    # when the patient clicks it and opens the mail
    r = httpx.get(f"{app_server}/api/t/c/{world.a.id}-{code}", follow_redirects=False)
    httpx.get(f"{app_server}/api/t/o/{open_token(world.a.id, msg_id)}")
    # then they still reach the page, and both are recorded
    assert r.status_code == 302
    assert r.headers["location"] == OFFER
    assert sorted(e.kind for e in events(world.a)) == ["click", "open"]


def test_a_head_request_is_answered_but_not_counted(world: World, app_server: str) -> None:
    # given tenant A's link
    code, _msg = tracked(world, "a")
    # when a link checker sends HEAD
    r = httpx.head(f"{app_server}/api/t/c/{world.a.id}-{code}", follow_redirects=False)
    # then it gets the redirect, and no click is recorded
    assert r.status_code == 302
    assert r.headers["location"] == OFFER
    assert events(world.a) == []
