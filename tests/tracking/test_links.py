"""Tracked links and the open pixel, through the real engine: a marketing message's
URLs are rewritten when it is first rendered (email and SMS, through a real SMTP
sink and SMS provider), transactional ones are not, a retry sends the same links,
and the email carries an HTML part with the signed open pixel."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.tracking.links import find_urls, read_open_token
from prm_saas.tracking.models import TrackingEvent, TrackingKind
from tenants.db import tenant_session
from tenants.errors import AppendOnlyViolation
from tests.factories import World
from tests.sms_provider import SmsProvider, connect_tenant, load_message, send_due
from tests.smtp_sink import MailSink
from tests.tracking.builders import enqueue_reminder, enqueue_tip, events, links, sent_message

OFFER = "https://clinic.example.com/offer?id=7&src=mail"
TRACKED = re.compile(r"(https?://[^\s\"<>]+/api/t/c/(\d+)-([A-Za-z0-9]{8}))")


def test_urls_end_where_the_sentence_goes_on() -> None:
    # given text with links followed by punctuation, Chinese and brackets
    text = (
        "见 https://a.test/x?y=1. 或（https://b.test/p）以及 https://c.test/q，"
        "(see https://d.test/wiki_(a)) http://e.test/中文 https://"
    )
    # then each URL stops where the sentence goes on
    assert [u for _s, _e, u in find_urls(text)] == [
        "https://a.test/x?y=1",
        "https://b.test/p",
        "https://c.test/q",
        "https://d.test/wiki_(a)",
        "http://e.test/",
    ]


def test_a_marketing_email_gets_tracked_links_and_an_open_pixel(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given a marketing email whose text has a link (twice) and another one
    msg_id = enqueue_tip(
        world.a, world.patient_a.id, f"详情：{OFFER}。再看一次 {OFFER} 和 https://b.example.com/"
    )
    # when it is sent
    assert send_due(world.a) == {"sent": 1}
    # then the plain text carries tracked links of tenant A instead of the URLs
    mail = smtp_sink.last_to("p@a.test")
    found = TRACKED.findall(mail.body)
    assert len(found) == 3
    assert all(url.startswith(f"{app_server}/api/t/c/") for url, _t, _c in found)
    assert {int(t) for _u, t, _c in found} == {world.a.id}
    assert OFFER not in mail.body
    assert "https://b.example.com/" not in mail.body
    # one code per (message, URL): the repeated URL has one code
    stored = links(world.a, msg_id)
    assert sorted(link.url for link in stored) == sorted([OFFER, "https://b.example.com/"])
    assert found[0][2] == found[1][2] != found[2][2]
    assert {link.patient_id for link in stored} == {world.patient_a.id}
    # and the stored body is exactly what was sent
    assert load_message(world.a, msg_id).body in mail.body
    # the HTML alternative has the links as anchors and the signed pixel of this message
    assert mail.html
    assert f'<a href="{found[0][0]}">' in mail.html
    pixel = re.search(r'<img src="([^"]+)"', mail.html)
    assert pixel
    assert pixel.group(1).startswith(f"{app_server}/api/t/o/")
    assert read_open_token(pixel.group(1).rsplit("/", 1)[1]) == (world.a.id, msg_id)
    assert "Unsubscribe" in mail.html  # the footer is part of both


def test_the_html_part_escapes_the_text(world: World, app_server: str, smtp_sink: MailSink) -> None:
    # given a marketing text with markup in it
    enqueue_tip(world.a, world.patient_a.id, '<script>alert("x")</script> & <b>hi</b>')
    # when it is sent
    assert send_due(world.a) == {"sent": 1}
    # then the HTML part shows the markup as text
    html_part = smtp_sink.last_to("p@a.test").html
    assert "<script>" not in html_part
    assert "<b>" not in html_part
    assert "&lt;script&gt;" in html_part
    assert "&amp;" in html_part


def test_a_click_records_the_event_and_redirects_to_the_stored_url(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given a sent marketing email with a tracked link
    msg_id = enqueue_tip(world.a, world.patient_a.id, f"详情：{OFFER}")
    send_due(world.a)
    url = TRACKED.findall(smtp_sink.last_to("p@a.test").body)[0][0]
    # when the patient clicks it (twice), once with a destination smuggled in the query
    first = httpx.get(url, follow_redirects=False)
    second = httpx.get(url + "?url=https://evil.example/&next=https://evil.example/")
    # then both go to the stored URL only
    assert first.status_code == 302
    assert first.headers["location"] == OFFER
    assert second.status_code == 302
    assert second.headers["location"] == OFFER
    assert first.headers["cache-control"].startswith("no-store")
    # and each click is recorded against the message and the patient, in tenant A only
    got = events(world.a)
    assert [(e.kind, e.message_id, e.patient_id, e.url) for e in got] == [
        (TrackingKind.CLICK, msg_id, world.patient_a.id, OFFER)
    ] * 2
    assert events(world.b) == []


def test_a_transactional_message_keeps_its_links_and_has_no_pixel(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given a booking reminder (transactional) with a link in its note
    msg_id = enqueue_reminder(world.a, world.patient_a.id, f"路线：{OFFER}")
    # when it is sent
    assert send_due(world.a) == {"sent": 1}
    # then the link is untouched, nothing is tracked, and there is no HTML part
    mail = smtp_sink.last_to("p@a.test")
    assert OFFER in mail.body
    assert "/api/t/" not in mail.body
    assert mail.html == ""
    assert links(world.a) == []
    assert load_message(world.a, msg_id).status == MessageStatus.SENT


def test_a_marketing_sms_gets_a_short_tracked_link_and_a_retry_sends_the_same_text(
    world: World, app_server: str, sms_provider: SmsProvider
) -> None:
    # given tenant A sends texts, and a marketing text with a long link
    connect_tenant(world.a, world.admin_a, sms_provider)
    long_url = "https://clinic.example.com/campaigns/winter/checkup?utm_source=sms&utm_medium=x"
    msg_id = enqueue_tip(world.a, world.patient_a.id, f"冬季体检：{long_url}", channel=Channel.SMS)
    # when the provider fails the first attempt and the retry goes through
    sms_provider.fail_next(1, status=503)
    assert send_due(world.a) == {"retry": 1}
    first_body = load_message(world.a, msg_id).body
    with tenant_session(world.a.id) as s:
        row = s.exec(select(Message).where(Message.id == msg_id)).one()
        row.due_at = row.updated_at  # due now
        s.add(row)
    assert send_due(world.a) == {"sent": 1}
    # then the text carries a short tracked link instead of the long URL
    text = sms_provider.messages[-1].text
    found = TRACKED.findall(text)
    assert len(found) == 1
    assert long_url not in text
    assert len(found[0][0]) == len(f"{app_server}/api/t/c/{world.a.id}-") + 8
    # and the retry sent exactly what was rendered the first time (one link, one code)
    assert first_body in text
    assert load_message(world.a, msg_id).body == first_body
    assert len(links(world.a, msg_id)) == 1


def test_the_open_pixel_records_an_open_and_is_always_a_gif(
    world: World, app_server: str, smtp_sink: MailSink
) -> None:
    # given a sent marketing email
    msg_id = enqueue_tip(world.a, world.patient_a.id, "多喝水。")
    send_due(world.a)
    pixel = re.search(r'<img src="([^"]+)"', smtp_sink.last_to("p@a.test").html)
    assert pixel
    # when the mail client loads the pixel
    r = httpx.get(pixel.group(1))
    # then it gets a 1x1 GIF and the open is recorded in tenant A
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/gif"
    assert r.content.startswith(b"GIF89a")
    assert [(e.kind, e.message_id, e.patient_id) for e in events(world.a)] == [
        (TrackingKind.OPEN, msg_id, world.patient_a.id)
    ]
    # and a bad token still gets the GIF, but records nothing
    for bad in ("nonsense", pixel.group(1).rsplit("/", 1)[1][:-2] + "xx", "1.2.abc"):
        r = httpx.get(f"{app_server}/api/t/o/{bad}")
        assert r.status_code == 200
        assert r.content.startswith(b"GIF89a")
    assert len(events(world.a)) == 1


def test_tracking_events_are_append_only(world: World) -> None:
    # given an event
    msg_id = sent_message(world.a, world.patient_a.id, source="campaign:1:A:1")
    with tenant_session(world.a.id) as s:
        s.add(TrackingEvent(message_id=msg_id, kind=TrackingKind.OPEN))
    # when it is changed
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        e = s.exec(select(TrackingEvent)).one()
        e.kind = TrackingKind.CLICK
        s.add(e)
    # then it stays as it was
    assert [e.kind for e in events(world.a)] == [TrackingKind.OPEN]
