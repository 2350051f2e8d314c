"""Tags, tagging by hand (in bulk), the history and rule evaluation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Sex
from prm_saas.audit.models import AuditEvent
from prm_saas.i18n import translate
from prm_saas.tags import services
from prm_saas.tags.models import PatientTag, Tag, TagEvent, TagKind, TagRule
from prm_saas.tags.services import RuleMatchesNothing, TagInput
from tenants.db import tenant_session
from tenants.errors import (
    AppendOnlyViolation,
    DomainError,
    FieldErrors,
    NotFound,
    PermissionDenied,
)
from tests.booking.builders import set_patient
from tests.factories import World
from tests.tags import builders as b
from tests.tags.builders import NOW

FEMALE = [{"key": "sex", "params": {"sex": "female"}}]


def _count(tenant_id: int, model: type) -> int:
    with tenant_session(tenant_id) as s:
        return len(s.exec(select(model)).all())


# --- tags --------------------------------------------------------------------------------


def test_admin_creates_updates_and_deletes_a_tag_audited(world: World) -> None:
    tid = b.tag(world.a, world.admin_a, "高血压")
    with tenant_session(world.a.id) as s:
        services.update_tag(
            session=s,
            actor=world.admin_a,
            tag_id=tid,
            data=TagInput(name="高血压 II", color="#ff0000", description="随访"),
        )
    with tenant_session(world.a.id) as s:
        tag = s.exec(select(Tag)).one()
        assert (tag.name, tag.color, tag.description) == ("高血压 II", "#ff0000", "随访")
        services.delete_tag(session=s, actor=world.admin_a, tag_id=tid)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Tag)).all() == []
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert {"tag.create", "tag.update", "tag.delete"} <= set(actions)


def test_tag_names_are_unique_per_tenant_only(world: World) -> None:
    b.tag(world.a, world.admin_a, "VIP")
    b.tag(world.b, world.admin_b, "VIP")  # another tenant: fine
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.create_tag(session=s, actor=world.admin_a, data=TagInput(name="VIP"))
    key, params = exc.value.errors["name"]
    assert translate(key, "zh-CN", **params) == "已有同名标签。"
    assert translate(key, "en", **params) == "A tag with this name already exists."
    assert _count(world.a.id, Tag) == 1


def test_bad_tag_form_says_what_is_wrong_and_writes_nothing(world: World) -> None:
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.create_tag(
            session=s,
            actor=world.admin_a,
            data=TagInput(name="", color="red", kind="sometimes"),
        )
    errors = exc.value.errors
    assert errors["name"][0] == "field.required"
    assert translate(errors["color"][0], "en") == "Colors look like #RRGGBB."
    assert translate(errors["kind"][0], "zh-CN") == "请选择手动或自动标签。"
    assert translate(errors["kind"][0], "en") == "Choose manual or automatic."
    assert _count(world.a.id, Tag) == 0


def test_only_admins_manage_tags(world: World) -> None:
    tid = b.tag(world.a, world.admin_a, "VIP")
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.create_tag(session=s, actor=world.staff_a, data=TagInput(name="X"))
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.update_tag(session=s, actor=world.staff_a, tag_id=tid, data=TagInput(name="X"))
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.delete_tag(session=s, actor=world.staff_a, tag_id=tid)
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.preview_rule(session=s, actor=world.staff_a, conditions=FEMALE, now=NOW)
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.add_tags(
            session=s, actor=world.patient_a, patient_ids=[world.patient_a.id], tag_ids=[tid]
        )
    # An admin of another tenant is "not found", like a missing record.
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.create_tag(session=s, actor=world.admin_b, data=TagInput(name="X"))


def test_a_tag_of_another_tenant_is_not_found(world: World) -> None:
    tid_b = b.tag(world.b, world.admin_b, "VIP")
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.update_tag(session=s, actor=world.admin_a, tag_id=tid_b, data=TagInput(name="X"))
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[world.patient_a.id], tag_ids=[tid_b]
        )
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.tag_history(session=s, actor=world.staff_a, tag_id=tid_b)
    assert b.holders(world.b, tid_b) == set()


# --- tagging by hand --------------------------------------------------------------------------


def test_front_desk_tags_patients_in_bulk_with_history(world: World) -> None:
    vip, htn = b.tag(world.a, world.admin_a, "VIP"), b.tag(world.a, world.admin_a, "高血压")
    p1, p2 = world.patient_a.id, b.patient(world.a)
    with tenant_session(world.a.id) as s:
        n = services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[p1, p2], tag_ids=[vip, htn], reason="复诊"
        )
    assert n == 4
    # Again: nothing new, no new history.
    with tenant_session(world.a.id) as s:
        assert (
            services.add_tags(session=s, actor=world.staff_a, patient_ids=[p1], tag_ids=[vip]) == 0
        )
    assert b.holders(world.a, vip) == {p1, p2}
    with tenant_session(world.a.id) as s:
        n = services.remove_tags(
            session=s, actor=world.staff_a, patient_ids=[p1, p2], tag_ids=[vip], reason="误标"
        )
    assert n == 2
    assert b.holders(world.a, vip) == set()
    assert b.holders(world.a, htn) == {p1, p2}
    staff = world.staff_a.id
    ev = b.events(world.a)
    assert sorted(ev[:4]) == sorted(
        [(p, t, "added", staff, None) for p in (p1, p2) for t in (vip, htn)]
    )
    assert sorted(ev[4:]) == sorted([(p, vip, "removed", staff, None) for p in (p1, p2)])
    with tenant_session(world.a.id) as s:
        hist = services.tag_history(session=s, actor=world.staff_a, patient_id=p1)
        tags = services.patient_tags(session=s, actor=world.staff_a, patient_id=p1)
    lines = [(h.tag_name, h.action, h.reason) for h in hist]
    assert lines[0] == ("VIP", "removed", "误标")
    assert sorted(lines[1:]) == [("VIP", "added", "复诊"), ("高血压", "added", "复诊")]
    assert [(t.name, t.source) for t in tags] == [("高血压", "manual")]


def test_bulk_tagging_with_a_patient_of_another_tenant_is_not_found_and_writes_nothing(
    world: World,
) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.add_tags(
            session=s,
            actor=world.staff_a,
            patient_ids=[world.patient_a.id, world.patient_b.id],
            tag_ids=[vip],
        )
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.patient_tags(session=s, actor=world.staff_a, patient_id=world.patient_b.id)
    assert b.holders(world.a, vip) == set()
    assert b.events(world.a) == []


def test_auto_tags_cannot_be_set_by_hand(world: World) -> None:
    auto = b.tag(world.a, world.admin_a, "流失", TagKind.AUTO)
    vip = b.tag(world.a, world.admin_a, "VIP")
    for call in (services.add_tags, services.remove_tags):
        with pytest.raises(DomainError) as exc, tenant_session(world.a.id) as s:
            call(
                session=s,
                actor=world.admin_a,
                patient_ids=[world.patient_a.id],
                tag_ids=[vip, auto],
            )
        assert exc.value.key == "tags.auto_by_hand"
        assert "流失" in translate(exc.value.key, "zh-CN", **exc.value.params)
        assert translate(exc.value.key, "en", **exc.value.params).startswith("Automatic tags")
    assert b.holders(world.a, vip) == set()
    assert b.events(world.a) == []


def test_bulk_input_errors(world: World) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.add_tags(session=s, actor=world.staff_a, patient_ids=[], tag_ids=[])
    assert translate(exc.value.errors["patient_ids"][0], "en") == "Choose at least one patient."
    assert translate(exc.value.errors["tag_ids"][0], "zh-CN") == "请选择标签。"
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.add_tags(
            session=s,
            actor=world.staff_a,
            patient_ids=[world.patient_a.id],
            tag_ids=[vip],
            reason="x" * 201,
        )
    assert exc.value.errors["reason"][0] == "field.too_long"
    assert b.events(world.a) == []


def test_a_tag_in_use_keeps_its_kind_and_cannot_be_deleted(world: World) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    with tenant_session(world.a.id) as s:
        services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[world.patient_a.id], tag_ids=[vip]
        )
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.update_tag(
            session=s, actor=world.admin_a, tag_id=vip, data=TagInput(name="VIP", kind="auto")
        )
    assert exc.value.errors["kind"][0] == "tags.field.kind_locked"
    with pytest.raises(DomainError) as derr, tenant_session(world.a.id) as s:
        services.delete_tag(session=s, actor=world.admin_a, tag_id=vip)
    assert derr.value.key == "tags.in_use"
    assert _count(world.a.id, Tag) == 1


# --- rules --------------------------------------------------------------------------------------


def _rule(world: World, tag_id: int, conditions: object = FEMALE, **kw: object) -> int:
    with tenant_session(world.a.id) as s:
        rule = services.create_rule(
            session=s, actor=world.admin_a, tag_id=tag_id, conditions=conditions, now=NOW, **kw
        )
        return int(rule.id or 0)


def test_a_saved_rule_tags_matching_patients_and_reevaluation_removes_and_is_idempotent(
    world: World,
) -> None:
    auto = b.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    w1 = b.patient(world.a, sex=Sex.FEMALE)
    w2 = b.patient(world.a, sex=Sex.FEMALE)
    b.patient(world.a, sex=Sex.MALE)
    wb = b.patient(world.b, sex=Sex.FEMALE)
    rid = _rule(world, auto)
    assert b.holders(world.a, auto) == {w1, w2}
    with tenant_session(world.a.id) as s:
        pts = s.exec(select(PatientTag).where(PatientTag.tag_id == auto)).all()
        assert {(p.source, p.rule_id) for p in pts} == {("rule", rid)}
        rule = s.exec(select(TagRule)).one()
        assert (rule.matched, rule.evaluated_at) == (2, NOW)
    # Re-running changes nothing.
    with tenant_session(world.a.id) as s:
        run = services.evaluate_rule(session=s, rule_id=rid, now=NOW + timedelta(hours=1))
    assert (run.added, run.removed, run.matched) == (0, 0, 2)
    assert len(b.events(world.a)) == 2
    # w2 no longer matches: the tag goes, with one history row.
    set_patient(world.a, w2, sex=Sex.MALE)
    w3 = b.patient(world.a, sex=Sex.FEMALE)
    with tenant_session(world.a.id) as s:
        run = services.evaluate_rule(session=s, rule_id=rid, now=NOW + timedelta(days=1))
    assert (run.added, run.removed, run.matched) == (1, 1, 2)
    assert b.holders(world.a, auto) == {w1, w3}
    assert b.events(world.a)[2:] == sorted(
        [(w3, auto, "added", None, rid), (w2, auto, "removed", None, rid)],
        key=lambda e: e[2] != "added",
    )
    # Tenant B's woman was never tagged (nor any row written in B).
    assert b.events(world.b) == []
    assert wb not in b.holders(world.a, auto)


def test_reevaluate_for_patient_touches_only_that_patient(world: World) -> None:
    auto = b.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    w1 = b.patient(world.a, sex=Sex.FEMALE)
    rid = _rule(world, auto)
    w2 = b.patient(world.a, sex=Sex.FEMALE)  # after the rule ran
    w3 = b.patient(world.a, sex=Sex.FEMALE)
    with tenant_session(world.a.id) as s:
        changed = services.reevaluate_for_patient(session=s, patient_id=w2, now=NOW)
    assert changed == 1
    assert b.holders(world.a, auto) == {w1, w2}
    assert w3 not in b.holders(world.a, auto)
    with tenant_session(world.a.id) as s:
        # The count is the last full run's (hooks do not recount every holder) ...
        assert s.exec(select(TagRule)).one().matched == 1
        services.evaluate_rule(session=s, rule_id=rid, now=NOW)
    with tenant_session(world.a.id) as s:
        # ... and the next full run (nightly, or a save) brings it up to date.
        assert s.exec(select(TagRule)).one().matched == 3


def test_a_rule_matching_nothing_needs_confirmation(world: World) -> None:
    auto = b.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    b.patient(world.b, sex=Sex.FEMALE)  # matches in B only
    with pytest.raises(RuleMatchesNothing) as exc, tenant_session(world.a.id) as s:
        services.create_rule(
            session=s, actor=world.admin_a, tag_id=auto, conditions=FEMALE, now=NOW
        )
    assert translate(exc.value.key, "zh-CN").startswith("按当前条件没有任何客户符合")
    assert translate(exc.value.key, "en").startswith("No patient matches")
    assert _count(world.a.id, TagRule) == 0
    rid = _rule(world, auto, confirm_empty=True)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(TagRule)).one().matched == 0
    assert rid


def test_preview_counts_and_samples_ten(world: World) -> None:
    ids = [b.patient(world.a, sex=Sex.FEMALE) for _ in range(12)]
    with tenant_session(world.a.id) as s:
        preview = services.preview_rule(session=s, actor=world.admin_a, conditions=FEMALE, now=NOW)
    assert preview.count == 12
    assert [pid for pid, _ in preview.sample] == sorted(ids)[:10]


def test_rules_set_auto_tags_only_and_one_rule_per_tag(world: World) -> None:
    manual = b.tag(world.a, world.admin_a, "VIP")
    auto = b.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    b.patient(world.a, sex=Sex.FEMALE)
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.create_rule(
            session=s, actor=world.admin_a, tag_id=manual, conditions=FEMALE, now=NOW
        )
    assert translate(exc.value.errors["tag_id"][0], "en") == "A rule can only set an automatic tag."
    _rule(world, auto)
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.create_rule(
            session=s, actor=world.admin_a, tag_id=auto, conditions=FEMALE, now=NOW
        )
    assert translate(exc.value.errors["tag_id"][0], "zh-CN") == "该标签已有规则。"


def test_update_rule_reevaluates_and_a_stopped_rule_freezes_its_tag(world: World) -> None:
    auto = b.tag(world.a, world.admin_a, "标签", TagKind.AUTO)
    w = b.patient(world.a, sex=Sex.FEMALE)
    m = b.patient(world.a, sex=Sex.MALE)
    rid = _rule(world, auto)
    male = [{"key": "sex", "params": {"sex": "male"}}]
    with tenant_session(world.a.id) as s:
        services.update_rule(session=s, actor=world.admin_a, rule_id=rid, conditions=male, now=NOW)
    assert b.holders(world.a, auto) == {m}
    with tenant_session(world.a.id) as s:
        services.update_rule(
            session=s, actor=world.admin_a, rule_id=rid, conditions=FEMALE, active=False, now=NOW
        )
        run = services.evaluate_rule(session=s, rule_id=rid, now=NOW)
    assert (run.added, run.removed) == (0, 0)
    assert b.holders(world.a, auto) == {m}
    assert w not in b.holders(world.a, auto)


def test_a_rule_of_another_tenant_is_not_found(world: World) -> None:
    auto_b = b.tag(world.b, world.admin_b, "女性", TagKind.AUTO)
    b.patient(world.b, sex=Sex.FEMALE)
    with tenant_session(world.b.id) as s:
        rid_b = int(
            services.create_rule(
                session=s, actor=world.admin_b, tag_id=auto_b, conditions=FEMALE, now=NOW
            ).id
            or 0
        )
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.update_rule(
            session=s, actor=world.admin_a, rule_id=rid_b, conditions=FEMALE, now=NOW
        )
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.evaluate_rule(session=s, rule_id=rid_b, now=NOW)
    with pytest.raises(NotFound), tenant_session(world.a.id) as s:
        services.create_rule(
            session=s, actor=world.admin_a, tag_id=auto_b, conditions=FEMALE, now=NOW
        )
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        services.create_rule(
            session=s, actor=world.staff_a, tag_id=auto_b, conditions=FEMALE, now=NOW
        )


def test_the_history_is_append_only(world: World) -> None:
    vip = b.tag(world.a, world.admin_a, "VIP")
    with tenant_session(world.a.id) as s:
        services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[world.patient_a.id], tag_ids=[vip]
        )
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        ev = s.exec(select(TagEvent)).one()
        ev.reason = "rewritten"
        s.add(ev)
        s.flush()
    with pytest.raises(AppendOnlyViolation), tenant_session(world.a.id) as s:
        s.delete(s.exec(select(TagEvent)).one())
        s.flush()
    assert b.events(world.a) == [(world.patient_a.id, vip, "added", world.staff_a.id, None)]
