"""The automations page in a real browser: a manager switches on the welcome
journey, edits its message (a wrong variable is refused in Chinese, an empty
wait in English, with nothing saved), and sees it in the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.automations import services
from prm_saas.automations.models import Automation
from prm_saas.i18n import translate
from prm_saas.messaging.content import check_content
from prm_saas.messaging.models import Channel
from tenants.db import tenant_session
from tenants.errors import FieldErrors
from tests.e2e.test_messaging_pages import shot, sign_in_staff
from tests.factories import World

pytestmark = pytest.mark.e2e

NEW_BODY = "{patient_name}，欢迎加入阳光社区诊所！首次体检享九折。"


def _welcome(world: World) -> Automation | None:
    with tenant_session(world.a.id) as s:
        row = s.exec(select(Automation).where(Automation.builtin == "welcome")).first()
        if row is not None:
            s.expunge(row)
        return row


def test_manager_switches_on_the_welcome_journey_edits_its_message_and_sees_it_listed(
    page: Page, server: str, world: World
) -> None:
    sign_in_staff(page, server, world.a, "admin@a.test")
    page.goto(f"{server}/t/{world.a.slug}/admin/automations")
    expect(page.locator("#builtin-welcome")).to_be_visible()
    page.click("#enable-builtin-welcome")
    expect(page.locator("#builtin-welcome")).to_contain_text("已启用")
    auto = _welcome(world)
    assert auto is not None
    assert auto.active
    row = page.locator(f"#automation-row-{auto.id}")
    expect(row).to_contain_text("新会员欢迎")
    expect(row).to_contain_text("运行中")
    shot(page, "automations-list", english=True)

    # a wrong variable: refused under the step, in Chinese, nothing saved
    page.click(f"#edit-automation-{auto.id}")
    body = page.locator("#step-body-0")
    expect(body).to_have_value(
        "{patient_name}，您好！欢迎加入{tenant_name}。预约体检、查看报告、积分兑换都可以在这里完成。"
    )
    body.fill("{patient_nam}，欢迎！")
    page.click("#save-automation")
    with pytest.raises(FieldErrors) as caught:
        check_content(Channel.INAPP, "", "{patient_nam}，欢迎！")
    key, params = caught.value.errors["body"]
    expect(page.locator("#step-err-0")).to_have_text(translate(key, "zh-CN", **params))
    assert _welcome(world).version == 1  # type: ignore[union-attr]

    # the real edit
    body.fill(NEW_BODY)
    page.click("#save-automation")
    expect(page.locator("#form-notice")).to_contain_text("已保存")
    expect(page.locator(f"#automation-row-{auto.id}")).to_contain_text("新会员欢迎")
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=auto.id)
    assert detail.version == 2
    assert detail.steps[0]["body"] == NEW_BODY
    assert detail.active
    # the editor shows the saved wording when opened again
    page.click(f"#edit-automation-{auto.id}")
    expect(page.locator("#step-body-0")).to_have_value(NEW_BODY)
    shot(page, "automations-editor", english=True)

    # in English, an empty wait is refused in English
    page.click("#lang-switch")
    page.click("#add-wait")
    page.fill("#step-days-1", "0")
    page.fill("#step-hours-1", "0")
    page.click("#save-automation")
    expect(page.locator("#step-err-1")).to_have_text("The wait cannot be zero.")
    assert _welcome(world).version == 2  # type: ignore[union-attr]
    page.click("#lang-switch")  # back to Chinese for the tests after this one
