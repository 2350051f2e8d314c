"""Compiled audience expressions on the database: the SQL picks exactly the
patients the reference evaluator picks, in each of two tenants whose tags have
the same names, and another tenant's tags never reach this tenant's patients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from prm_saas.accounts.models import Patient
from prm_saas.audiences.expr import (
    ExprError,
    Node,
    Tag,
    compile_sql,
    evaluate,
    parse,
)
from prm_saas.tags.models import PatientTag
from prm_saas.tags.models import Tag as TagRow
from tenants.db import tenant_session
from tests.audiences.test_expr import NAMES, _trees
from tests.factories import World, make_patient

PATIENTS_A = 9  # besides world.patient_a
PATIENTS_B = 5  # besides world.patient_b


@dataclass(frozen=True)
class Side:
    """One tenant: its patients and its tag ids by name."""

    tenant_id: int
    patients: list[int]
    tag_ids: dict[str, int]


@dataclass(frozen=True)
class Tagged:
    a: Side
    b: Side


def _side(tenant_id: int, first: int, more: int, world: World) -> Side:
    tenant = world.a if tenant_id == world.a.id else world.b
    patients = [first] + [make_patient(tenant).id for _ in range(more)]
    with tenant_session(tenant_id) as s:
        rows = [TagRow(name=name) for name in NAMES]
        s.add_all(rows)
        s.flush()
        tag_ids = {r.name: r.id for r in rows if r.id is not None}
    return Side(tenant_id, patients, tag_ids)


@pytest.fixture
def tagged(world: World) -> Tagged:
    """Both tenants have patients and tags of the same names (different ids)."""
    return Tagged(
        a=_side(world.a.id, world.patient_a.id, PATIENTS_A, world),
        b=_side(world.b.id, world.patient_b.id, PATIENTS_B, world),
    )


def assign(side: Side, tags_of: Mapping[int, set[str]]) -> None:
    """Replace the side's patient tags with ``tags_of``."""
    with tenant_session(side.tenant_id) as s:
        s.execute(sa.delete(PatientTag).where(col(PatientTag.tenant_id) == side.tenant_id))
        s.add_all(
            PatientTag(patient_id=pid, tag_id=side.tag_ids[name])
            for pid, names in tags_of.items()
            for name in names
        )


def matching(side: Side, tree: Node, tag_ids: Mapping[str, int] | None = None) -> set[int]:
    """The patients the compiled ``tree`` selects in the side's tenant session."""
    with tenant_session(side.tenant_id) as s:
        clause = compile_sql(tree, side.tag_ids if tag_ids is None else tag_ids)
        return set(s.exec(select(Patient.id).where(clause)).all())  # type: ignore[arg-type]


def test_the_contract_example(tagged: Tagged) -> None:
    p = tagged.a.patients
    assign(
        tagged.a,
        {
            p[0]: {"高血压", "VIP"},  # yes
            p[1]: {"高血压", "银卡会员"},  # yes
            p[2]: {"高血压", "VIP", "非"},  # churned ("非" is a tag name here): no
            p[3]: {"VIP", "银卡会员"},  # no hypertension: no
            p[4]: {"高血压"},  # neither VIP nor silver: no
        },
    )
    tree = parse('高血压 AND (VIP OR 银卡会员) AND NOT "非"')
    assert matching(tagged.a, tree) == {p[0], p[1]}
    assert matching(tagged.b, tree) == set()


def test_not_matches_untagged_patients_too(tagged: Tagged) -> None:
    p = tagged.a.patients
    assign(tagged.a, {p[0]: {"VIP"}})
    assert matching(tagged.a, parse("NOT VIP")) == set(p[1:])
    assert matching(tagged.a, parse("NOT NOT VIP")) == {p[0]}


def test_another_tenants_tags_never_match_this_tenants_patients(tagged: Tagged) -> None:
    # Every patient of both tenants has every tag.
    assign(tagged.a, {pid: set(NAMES) for pid in tagged.a.patients})
    assign(tagged.b, {pid: set(NAMES) for pid in tagged.b.patients})
    everyone_a = set(tagged.a.patients)
    assert matching(tagged.a, parse("VIP")) == everyone_a
    assert matching(tagged.b, parse("VIP")) == set(tagged.b.patients)
    # Tenant B's tag ids compiled into tenant A's session reach no row of A...
    b_ids = tagged.b.tag_ids
    assert matching(tagged.a, parse("VIP OR 高血压"), b_ids) == set()
    assert matching(tagged.a, parse("NOT VIP"), b_ids) == everyone_a
    # ...and B's patients are never returned to A, whatever the ids.
    assert matching(tagged.a, parse("NOT VIP")) == set()
    assert matching(tagged.a, parse("VIP OR NOT VIP")) == everyone_a


def test_names_outside_the_tenants_tags_are_refused_with_their_position(tagged: Tagged) -> None:
    with pytest.raises(ExprError) as err:
        matching(tagged.a, parse("VIP AND 只在B"), {**tagged.a.tag_ids})
    assert (err.value.key, err.value.position) == ("audience.expr.unknown_tag", 8)


def test_a_three_clause_expression_compiles_to_exists_on_patient_tag(tagged: Tagged) -> None:
    clause = compile_sql(
        parse("高血压 AND (VIP OR 银卡会员) AND NOT AND_"),
        {"高血压": 1, "VIP": 2, "银卡会员": 3, "AND_": 4},
    )
    sql = str(clause.compile(compile_kwargs={"literal_binds": True}))
    assert sql.count("EXISTS") == 3
    assert "NOT (EXISTS" in sql
    assert "tag_id IN (2, 3)" in sql  # an OR of plain tags is one EXISTS


assignments = st.fixed_dictionaries(
    {
        "a": st.lists(
            st.sets(st.sampled_from(NAMES)), min_size=PATIENTS_A + 1, max_size=PATIENTS_A + 1
        ),
        "b": st.lists(
            st.sets(st.sampled_from(NAMES)), min_size=PATIENTS_B + 1, max_size=PATIENTS_B + 1
        ),
    }
)
known_trees: st.SearchStrategy[Node] = st.recursive(
    st.sampled_from(NAMES).map(Tag), _trees, max_leaves=8
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=known_trees, data=assignments)
def test_compiled_sql_selects_what_the_reference_evaluator_selects(
    tagged: Tagged, tree: Node, data: dict[str, list[set[str]]]
) -> None:
    for side, sets in ((tagged.a, data["a"]), (tagged.b, data["b"])):
        assign(side, dict(zip(side.patients, sets, strict=True)))
    for side, sets in ((tagged.a, data["a"]), (tagged.b, data["b"])):
        tags_of = dict(zip(side.patients, sets, strict=True))
        assert matching(side, tree) == evaluate(tree, tags_of)
    # the other tenant's ids in A's session: A's patients look untagged
    untagged = {pid: set[str]() for pid in tagged.a.patients}
    assert matching(tagged.a, tree, tagged.b.tag_ids) == evaluate(tree, untagged)
