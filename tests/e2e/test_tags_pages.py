"""Issue 6's tag pages in a real browser against the production build: an admin
creates tags (bad input refused in Chinese, nothing saved), builds the rule of an
automatic tag from the condition registry, previews who it matches, is told when
a rule matches nobody and must confirm it; the front desk tags a member by hand
on the member page; staff without the permission and the other tenant find
nothing.

Every test uses fresh names (the world lives for the whole package) and checks
the effects on screen and in the database.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.tags import services as tags
from prm_saas.tags.models import PatientTag, Tag, TagEvent, TagKind, TagRule
from tenants.db import tenant_session
from tests.e2e.test_foundation_flows import sign_in_staff
from tests.e2e.test_messaging_pages import shot
from tests.factories import World

pytestmark = pytest.mark.e2e
_n = itertools.count(1)


def _admin(page: Page, server: str, world: World, path: str) -> None:
    sign_in_staff(page, server, world.a.slug, world.admin_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    page.goto(f"{server}/t/{world.a.slug}{path}")


def _tag(world: World, name: str) -> Tag | None:
    with tenant_session(world.a.id) as s:
        return s.exec(select(Tag).where(Tag.name == name)).first()


def _patient(world: World, name: str, sex: Sex, birth: date | None = None) -> int:
    with tenant_session(world.a.id) as s:
        p = Patient(name=name, phone=f"+86136{abs(hash(name)) % 10**8:08d}", sex=sex)
        p.birth_date = birth
        s.add(p)
        s.flush()
        return int(p.id or 0)


def _new_tag(page: Page, name: str, kind: str) -> None:
    page.click("#new-tag")
    page.fill("#f-name", name)
    page.select_option("#f-kind", kind)
    page.click("#save-tag")
    expect(page.locator(f"#tag-{name}")).to_be_visible()


def test_admin_creates_tags_and_a_rule_with_preview_and_the_empty_confirmation(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    _admin(page, server, world, "/admin/tags")

    # Bad input is refused in Chinese; nothing is written.
    page.click("#new-tag")
    page.fill("#f-name", "")
    page.fill("#f-color", "red")
    page.click("#save-tag")
    expect(page.locator("#err-name")).to_contain_text("此项必填")
    expect(page.locator("#err-color")).to_contain_text("颜色格式应为 #RRGGBB")
    # ... and in English for a user who reads English.
    host = re.sub(r"^https?://([^:/]+).*$", r"\1", server)
    page.context.add_cookies([{"name": "prm_lang", "value": "en", "domain": host, "path": "/"}])
    page.reload()
    page.click("#new-tag")
    page.fill("#f-name", "")
    page.fill("#f-color", "red")
    page.click("#save-tag")
    expect(page.locator("#err-color")).to_contain_text("Colors look like #RRGGBB.")
    expect(page.locator("#err-name")).to_contain_text("This field is required.")
    page.context.add_cookies([{"name": "prm_lang", "value": "", "domain": host, "path": "/"}])
    page.reload()
    page.click("#new-tag")
    page.fill("#f-name", f"VIP{n}")
    page.fill("#f-color", "#b45309")
    page.click("#save-tag")
    expect(page.locator(f"#tag-VIP{n}")).to_contain_text("手动")
    vip = _tag(world, f"VIP{n}")
    assert vip is not None
    assert (vip.color, vip.kind) == ("#b45309", TagKind.MANUAL)

    # A rule that matches nobody says so and needs a confirmation.
    old = f"百岁{n}"
    _new_tag(page, old, "auto")
    old_tag = _tag(world, old)
    assert old_tag is not None
    page.click(f"#rule-tag-{old_tag.id}")
    page.select_option("#add-condition", "age_band")
    page.fill("#cond-0-min_age", "abc")
    page.click("#preview-rule")
    expect(page.locator("#err-cond-0-min_age")).to_contain_text("请输入 0–150 之间的整数")
    page.fill("#cond-0-min_age", "140")
    page.click("#preview-rule")
    expect(page.locator("#preview-count")).to_have_text("0")
    expect(page.locator("#form-error")).to_contain_text("没有任何客户符合")
    page.click("#save-rule")
    expect(page.locator("#save-rule-anyway")).to_be_visible()
    with tenant_session(world.a.id) as s:
        assert s.exec(select(TagRule).where(TagRule.tag_id == old_tag.id)).first() is None
    page.click("#save-rule-anyway")
    expect(page.locator("#form-notice")).to_contain_text("规则已保存")
    with tenant_session(world.a.id) as s:
        rule = s.exec(select(TagRule).where(TagRule.tag_id == old_tag.id)).one()
    assert '"min_age": 140' in rule.conditions

    # A rule built from the registry: preview count and sample, then saved and applied.
    woman = f"女客{n}"
    wid = _patient(world, woman, Sex.FEMALE)
    female = f"女性{n}"
    _new_tag(page, female, "auto")
    ftag = _tag(world, female)
    assert ftag is not None
    page.click(f"#rule-tag-{ftag.id}")
    page.select_option("#add-condition", "sex")
    page.select_option("#cond-0-sex", "female")
    page.click("#preview-rule")
    with tenant_session(world.a.id) as s:
        women = len(s.exec(select(Patient).where(Patient.sex == Sex.FEMALE)).all())
    expect(page.locator("#preview-count")).to_have_text(str(women))
    expect(page.locator(f"#sample-{wid}")).to_have_text(woman)
    shot(page, "tag-rule-preview")
    page.click("#save-rule")
    expect(page.locator("#form-notice")).to_contain_text(f"{women} 位客户带有此标签")
    expect(page.locator(f"#holders-{ftag.id}")).to_have_text(str(women))
    with tenant_session(world.a.id) as s:
        holders = set(
            s.exec(select(PatientTag.patient_id).where(PatientTag.tag_id == ftag.id)).all()
        )
    assert wid in holders

    # The tag's history names the patient and the rule.
    page.click(f"#history-tag-{ftag.id}")
    expect(page.locator("#tag-history")).to_contain_text(woman)
    expect(page.locator("#tag-history")).to_contain_text("添加")


def test_staff_without_the_permission_and_the_other_tenant_find_no_tags(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    with tenant_session(world.a.id) as s:
        tags.create_tag(session=s, actor=world.admin_a, data=tags.TagInput(name=f"A的标签{n}"))
    # Front-desk staff do not manage tags: the 404 page, no nav entry.
    sign_in_staff(page, server, world.a.slug, world.staff_a.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.a.slug}/admin$"))
    expect(page.locator("#nav-tags")).to_have_count(0)
    page.goto(f"{server}/t/{world.a.slug}/admin/tags")
    expect(page.locator("#not-found")).to_be_visible()

    # Tenant B's admin sees B's tags only.
    sign_in_staff(page, server, world.b.slug, world.admin_b.label)
    expect(page).to_have_url(re.compile(rf"/t/{world.b.slug}/admin$"))
    page.goto(f"{server}/t/{world.b.slug}/admin/tags")
    expect(page.locator("#new-tag")).to_be_visible()
    expect(page.get_by_text(f"A的标签{n}")).to_have_count(0)
    with tenant_session(world.b.id) as s:
        assert s.exec(select(TagEvent)).all() == []


def test_manual_tags_on_a_member_one_by_one_and_in_bulk(
    page: Page, server: str, world: World
) -> None:
    n = next(_n)
    name = f"随访{n}"
    with tenant_session(world.a.id) as s:
        tid = int(
            tags.create_tag(session=s, actor=world.admin_a, data=tags.TagInput(name=name)).id or 0
        )
        auto = f"自动{n}"
        tags.create_tag(
            session=s, actor=world.admin_a, data=tags.TagInput(name=auto, kind=TagKind.AUTO)
        )
    first = _patient(world, f"标签客户甲{n}", Sex.MALE)
    second = _patient(world, f"标签客户乙{n}", Sex.FEMALE)

    # One member: a chip appears, the history says who added it; removing takes it off.
    _admin(page, server, world, f"/admin/members?patient={first}")
    expect(page.locator("#member-name")).to_have_text(f"标签客户甲{n}")
    expect(page.locator("#add-member-tag option", has_text=auto)).to_have_count(0)
    page.select_option("#add-member-tag", str(tid))
    expect(page.locator(f"#chip-{name}")).to_be_visible()
    expect(page.locator("#member-tag-history")).to_contain_text("添加")
    with tenant_session(world.a.id) as s:
        ev = s.exec(select(TagEvent).where(TagEvent.patient_id == first)).one()
    assert (ev.tag_id, ev.action, ev.staff_id) == (tid, "added", world.admin_a.id)
    page.click(f"#untag-{name}")
    expect(page.locator(f"#chip-{name}")).to_have_count(0)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(PatientTag).where(PatientTag.patient_id == first)).all() == []

    # In bulk: tick both members in the list, add the tag to both.
    page.fill("#f-q", "标签客户")
    page.click("#search")
    page.click(f"#select-{first}")
    page.click(f"#select-{second}")
    page.select_option("#bulk-tag", str(tid))
    page.click("#bulk-add")
    expect(page.locator("#form-notice")).to_contain_text("已添加 2 个标签")
    with tenant_session(world.a.id) as s:
        holders = set(s.exec(select(PatientTag.patient_id).where(PatientTag.tag_id == tid)).all())
    assert holders == {first, second}


def test_admin_renames_deletes_and_runs_a_rule_now(page: Page, server: str, world: World) -> None:
    n = next(_n)
    with tenant_session(world.a.id) as s:
        spare = tags.create_tag(session=s, actor=world.admin_a, data=tags.TagInput(name=f"临时{n}"))
        auto = tags.create_tag(
            session=s, actor=world.admin_a, data=tags.TagInput(name=f"女{n}", kind=TagKind.AUTO)
        )
        spare_id, auto_id = int(spare.id or 0), int(auto.id or 0)
        tags.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=auto_id,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            confirm_empty=True,
        )
    _admin(page, server, world, "/admin/tags")

    # Rename.
    page.click(f"#edit-tag-{spare_id}")
    expect(page.locator("#f-name")).to_have_value(f"临时{n}")
    page.fill("#f-name", f"临时改{n}")
    page.click("#save-tag")
    expect(page.locator(f"#tag-临时改{n}")).to_be_visible()

    # A tag in use cannot be deleted; an unused one can, after a confirmation.
    newcomer = _patient(world, f"新女客{n}", Sex.FEMALE)
    page.click(f"#delete-tag-{auto_id}")
    page.click(f"#confirm-delete-tag-{auto_id}")
    expect(page.locator("#form-error")).to_contain_text("仍有客户或规则在使用")
    assert _tag(world, f"女{n}") is not None
    page.click(f"#delete-tag-{spare_id}")
    page.click(f"#confirm-delete-tag-{spare_id}")
    expect(page.locator("#form-notice")).to_contain_text("标签已删除")
    expect(page.locator(f"#tag-临时改{n}")).to_have_count(0)
    assert _tag(world, f"临时改{n}") is None

    # Run now: the patient who came after the last run gets the tag.
    page.click(f"#run-rule-{auto_id}")
    expect(page.locator("#form-notice")).to_contain_text("新增 1")
    with tenant_session(world.a.id) as s:
        holders = set(
            s.exec(select(PatientTag.patient_id).where(PatientTag.tag_id == auto_id)).all()
        )
        women = set(s.exec(select(Patient.id).where(Patient.sex == Sex.FEMALE)).all())
    assert newcomer in holders
    assert holders == women
    expect(page.locator(f"#holders-{auto_id}")).to_have_text(str(len(women)))
