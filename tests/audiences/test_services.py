"""Saved audiences: live count, sample and reach, the caret on a bad expression,
opt-out exclusion per channel, the snapshot query, and the tenant wall."""

from __future__ import annotations

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.audiences import services as aud
from prm_saas.audiences.models import Audience
from prm_saas.i18n import translate
from prm_saas.messaging.models import Channel, MessagingSettings
from prm_saas.messaging.preferences import set_consent
from prm_saas.tags.services import add_tags
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tenants.resolution import TenantInfo
from tests.factories import World
from tests.tags import builders as b
from tests.tags.builders import NOW


def _tag(world: World, tenant: TenantInfo, name: str, patients: list[int]) -> int:
    admin = world.admin_a if tenant.id == world.a.id else world.admin_b
    tid = b.tag(tenant, admin, name)
    if patients:
        with tenant_session(tenant.id) as s:
            add_tags(session=s, actor=admin, patient_ids=patients, tag_ids=[tid])
    return tid


@pytest.fixture
def tagged(world: World) -> dict[str, list[int]]:
    """Tenant A: 6 patients; 高血压 on 0-3, VIP on 2-4, 流失 on 3. Tenant B has the
    same tag names on its own patients."""
    pa = [b.patient(world.a, sex=Sex.FEMALE if i % 2 else Sex.MALE) for i in range(6)]
    pb = [b.patient(world.b) for _ in range(3)]
    _tag(world, world.a, "高血压", pa[0:4])
    _tag(world, world.a, "VIP", pa[2:5])
    _tag(world, world.a, "流失", pa[3:4])
    _tag(world, world.b, "高血压", pb)
    _tag(world, world.b, "VIP", pb)
    _tag(world, world.b, "流失", [])
    return {"a": pa, "b": pb}


def _preview(world: World, expression: str, filters: object = ()) -> aud.AudiencePreview:
    with tenant_session(world.a.id) as s:
        return aud.preview_audience(
            session=s, actor=world.admin_a, expression=expression, filters=filters, now=NOW
        )


def test_count_and_sample_follow_the_expression(world: World, tagged: dict[str, list[int]]) -> None:
    pa = tagged["a"]
    got = _preview(world, "高血压 AND (VIP OR 流失) AND NOT 流失")
    assert got.count == 1
    assert [pid for pid, _name in got.sample] == [pa[2]]
    assert _preview(world, "高血压 OR VIP").count == 5
    # NOT binds tighter than AND, AND tighter than OR
    assert _preview(world, "NOT 高血压 AND VIP OR 流失").count == 2  # pa[4], pa[3]


def test_attribute_filters_narrow_the_expression(
    world: World, tagged: dict[str, list[int]]
) -> None:
    pa = tagged["a"]
    female = [{"key": "sex", "params": {"sex": "female"}}]
    got = _preview(world, "高血压", female)
    assert sorted(pid for pid, _ in got.sample) == [pa[1], pa[3]]
    # filters alone are an audience too
    assert _preview(world, "", female).count == 3


def test_a_malformed_expression_says_where(world: World, tagged: dict[str, list[int]]) -> None:
    with pytest.raises(FieldErrors) as exc:
        _preview(world, "高血压 AND (VIP OR")
    key, params = exc.value.errors["expression"]
    assert params["position"] == len("高血压 AND (VIP OR")
    assert translate(key, "en", **params).startswith("The expression is incomplete")
    with pytest.raises(FieldErrors) as exc:
        _preview(world, "高血压 AND 糖尿病")
    key, params = exc.value.errors["expression"]
    assert params["position"] == 8
    assert translate(key, "zh-CN", **params) == "第 9 个字符处的标签「糖尿病」不存在。"


def test_an_empty_definition_is_refused(world: World) -> None:
    with pytest.raises(FieldErrors) as exc:
        _preview(world, "  ")
    key, _params = exc.value.errors["expression"]
    assert translate(key, "zh-CN") == "请填写标签表达式或至少一个属性筛选条件。"


def test_reach_excludes_opt_outs_per_channel(world: World, tagged: dict[str, list[int]]) -> None:
    pa = tagged["a"]
    with tenant_session(world.a.id) as s:
        s.add(MessagingSettings(sms_enabled=True))
        for pid in pa[0:3]:
            s.exec(select(Patient).where(Patient.id == pid)).one().email = f"p{pid}@a.test"
        set_consent(s, patient_id=pa[0], channel=Channel.SMS, marketing=False, source="patient")
        set_consent(s, patient_id=pa[1], channel=Channel.SMS, blocked=True, source="stop_reply")
        set_consent(s, patient_id=pa[2], channel=Channel.EMAIL, marketing=False, source="link")
    got = _preview(world, "高血压")  # pa[0..3]
    assert got.count == 4
    assert got.reachable == {"email": 2, "sms": 2, "inapp": 4}
    with tenant_session(world.a.id) as s:
        aid = aud.create_audience(
            session=s, actor=world.admin_a, name="高血压人群", expression="高血压"
        ).id
        assert aid is not None
        sms = set(s.exec(aud.audience_ids(s, audience_id=aid, channel=Channel.SMS, now=NOW)).all())
    assert sms == {pa[2], pa[3]}


def test_switched_off_channel_and_opt_in_by_default(
    world: World, tagged: dict[str, list[int]]
) -> None:
    pa = tagged["a"]
    with tenant_session(world.a.id) as s:
        s.add(MessagingSettings(email_enabled=False, marketing_default=False))
        set_consent(s, patient_id=pa[3], channel=Channel.INAPP, marketing=True, source="patient")
    got = _preview(world, "高血压")
    assert got.reachable["email"] == 0
    assert got.reachable["sms"] == 0
    assert got.reachable["inapp"] == 1  # only the patient who opted in


def test_saved_audience_crud_and_names(world: World, tagged: dict[str, list[int]]) -> None:
    with tenant_session(world.a.id) as s:
        a1 = aud.create_audience(session=s, actor=world.admin_a, name="VIP", expression="VIP")
        assert a1.id is not None
        aid = a1.id
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        aud.create_audience(session=s, actor=world.admin_a, name="VIP", expression="VIP OR (")
    assert exc.value.errors["name"][0] == "audience.name_taken"
    assert exc.value.errors["expression"][1]["position"] == 8
    with tenant_session(world.a.id) as s:
        aud.update_audience(
            session=s,
            actor=world.admin_a,
            audience_id=aid,
            name="VIP 客户",
            expression="VIP AND NOT 流失",
        )
        assert (
            aud.audience_preview(session=s, actor=world.admin_a, audience_id=aid, now=NOW).count
            == 2
        )
        aud.delete_audience(session=s, actor=world.admin_a, audience_id=aid)
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Audience)).all() == []


def test_bad_input_writes_nothing(world: World, tagged: dict[str, list[int]]) -> None:
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        aud.create_audience(
            session=s,
            actor=world.admin_a,
            name="",
            expression="VIP",
            filters=[{"key": "no_such_condition", "params": {}}],
        )
    assert set(exc.value.errors) == {"name", "conditions.0.key"}
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Audience)).all() == []


def test_other_tenant_audience_is_not_found(world: World, tagged: dict[str, list[int]]) -> None:
    with tenant_session(world.b.id) as s:
        bid = aud.create_audience(session=s, actor=world.admin_b, name="B", expression="VIP").id
        assert bid is not None
    with tenant_session(world.a.id) as s:
        for call in (
            lambda: aud.get_audience(session=s, actor=world.admin_a, audience_id=bid),
            lambda: aud.audience_preview(session=s, actor=world.admin_a, audience_id=bid),
            lambda: aud.delete_audience(session=s, actor=world.admin_a, audience_id=bid),
            lambda: aud.audience_ids(s, audience_id=bid, channel=Channel.SMS),
            lambda: aud.get_audience(session=s, actor=world.admin_a, audience_id=987654),
        ):
            with pytest.raises(NotFound):
                call()
        # B's admin acting in A's session: not found either, never A's patients
        with pytest.raises((NotFound, PermissionDenied)):
            aud.preview_audience(session=s, actor=world.admin_b, expression="VIP")
    # the same tag names in B count only B's patients
    with tenant_session(world.b.id) as s:
        got = aud.audience_preview(session=s, actor=world.admin_b, audience_id=bid, now=NOW)
    assert got.count == 3
    assert {pid for pid, _ in got.sample} == set(tagged["b"])


def test_staff_without_the_permission_is_refused(
    world: World, tagged: dict[str, list[int]]
) -> None:
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        aud.preview_audience(session=s, actor=world.staff_a, expression="VIP")
    with pytest.raises(PermissionDenied), tenant_session(world.a.id) as s:
        aud.preview_audience(session=s, actor=world.patient_a, expression="VIP")
