"""Template wording per tenant and language: validation, preview, rendering."""

from __future__ import annotations

import pytest

from prm_saas.messaging.models import Channel
from prm_saas.messaging.templates import (
    TemplateSyntaxError,
    effective_template,
    list_templates,
    preview_template,
    render,
    reset_template,
    save_template,
    template_fields,
)
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tests.factories import World


def test_a_template_with_an_unknown_variable_is_refused_naming_it(world: World) -> None:
    with pytest.raises(FieldErrors) as err, tenant_session(world.a.id) as s:
        save_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="sms",
            locale="zh-CN",
            subject="",
            body="{patient_name}，{doctor} 提醒您",
        )
    key, params = err.value.errors["body"]
    assert key == "messaging.unknown_variable"
    assert params["name"] == "doctor"


@pytest.mark.parametrize("body", ["{a.b}", "{x[0]}", "{when!r}", "{when:>10}", "{}", "{unclosed"])
def test_only_plain_variable_names_are_allowed(world: World, body: str) -> None:
    with pytest.raises(FieldErrors) as err, tenant_session(world.a.id) as s:
        save_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="sms",
            locale="zh-CN",
            subject="",
            body=body,
        )
    assert err.value.errors["body"][0] in {
        "messaging.template_syntax",
        "messaging.unknown_variable",
    }


def test_a_saved_wording_is_used_for_that_tenant_only(world: World) -> None:
    with tenant_session(world.a.id) as s:
        save_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="sms",
            locale="zh-CN",
            subject="",
            body="{tenant_name}：{title} 于 {when}",
        )
    with tenant_session(world.a.id) as s:
        assert effective_template(s, "care.reminder", Channel.SMS, "zh-CN") == (
            "",
            "{tenant_name}：{title} 于 {when}",
        )
    with tenant_session(world.b.id) as s:
        _subject, body = effective_template(s, "care.reminder", Channel.SMS, "zh-CN") or ("", "")
        assert body.startswith("【{tenant_name}】")


def test_reset_goes_back_to_the_default(world: World) -> None:
    with tenant_session(world.a.id) as s:
        save_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="sms",
            locale="en",
            subject="",
            body="custom {title}",
        )
    with tenant_session(world.a.id) as s:
        reset_template(
            session=s, actor=world.admin_a, key="care.reminder", channel="sms", locale="en"
        )
    with tenant_session(world.a.id) as s:
        rows = [
            t
            for t in list_templates(session=s, actor=world.admin_a)
            if (t.key, t.channel, t.locale) == ("care.reminder", "sms", "en")
        ]
    assert not rows[0].customized
    assert "reminder" in rows[0].body


def test_preview_renders_unsaved_wording_with_sample_values(world: World) -> None:
    with tenant_session(world.a.id) as s:
        p = preview_template(
            session=s,
            actor=world.admin_a,
            key="care.reminder",
            channel="email",
            subject="{title}",
            body="{patient_name}: {when}",
            tenant_name="阳光",
        )
    assert p.subject == "复诊"
    assert p.body == "李娜: 2026-12-01 09:30"


def test_list_covers_every_template_channel_and_language(world: World) -> None:
    with tenant_session(world.a.id) as s:
        rows = list_templates(session=s, actor=world.admin_a)
    keys = {(r.key, r.channel, r.locale) for r in rows}
    assert ("marketing.health_tip", "inapp", "en") in keys
    assert all("tenant_name" in r.variables for r in rows)


def test_only_admins_of_the_tenant_manage_templates(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            list_templates(session=s, actor=world.staff_a)
        with pytest.raises(NotFound):
            list_templates(session=s, actor=world.admin_b)
        with pytest.raises(NotFound):
            save_template(
                session=s,
                actor=world.admin_b,
                key="care.reminder",
                channel="sms",
                locale="zh-CN",
                subject="",
                body="{title}",
            )


def test_unknown_template_channel_or_language_is_not_found(world: World) -> None:
    for key, channel, locale in (
        ("nope", "sms", "en"),
        ("care.reminder", "fax", "en"),
        ("care.reminder", "sms", "fr"),
    ):
        with pytest.raises(NotFound), tenant_session(world.a.id) as s:
            save_template(
                session=s,
                actor=world.admin_a,
                key=key,
                channel=channel,
                locale=locale,
                subject="",
                body="x",
            )


def test_render_and_fields() -> None:
    assert template_fields("Hi {name}, {name} at {when}") == {"name", "when"}
    assert render("{a}-{b}", {"a": 1, "b": "x", "unused": 2}) == "1-x"
    with pytest.raises(TemplateSyntaxError):
        template_fields("{0}")
