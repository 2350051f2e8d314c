"""The audience expression language: parsing, errors (where and what, in both
languages), printing back, and the reference evaluator; a property test that the
printed text means the same as the tree."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prm_saas.audiences.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    ExprError,
    Node,
    Not,
    Or,
    Tag,
    check_tags,
    evaluate,
    parse,
    quote,
    to_text,
)
from prm_saas.i18n import MESSAGES, translate

a, b, c, d = Tag("a"), Tag("b"), Tag("c"), Tag("d")

# --- parsing -------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    assert parse("a OR b AND c") == Or((a, And((b, c))))
    assert parse("a AND b OR c") == Or((And((a, b)), c))
    assert parse("a AND b OR c AND d") == Or((And((a, b)), And((c, d))))


def test_not_binds_tighter_than_and_and_or() -> None:
    assert parse("NOT a AND b") == And((Not(a), b))
    assert parse("NOT a OR b") == Or((Not(a), b))
    assert parse("a AND NOT b OR c") == Or((And((a, Not(b))), c))
    assert parse("NOT NOT a") == Not(Not(a))
    assert parse("NOT (a OR b)") == Not(Or((a, b)))


def test_chains_of_one_operator_are_flat() -> None:
    assert parse("a AND b AND c AND d") == And((a, b, c, d))
    assert parse("a OR b OR c") == Or((a, b, c))


def test_parentheses_group_and_nest() -> None:
    assert parse("(a OR b) AND c") == And((Or((a, b)), c))
    assert parse("((a))") == a
    assert parse("a AND ((b OR (c AND NOT d)))") == And((a, Or((b, And((c, Not(d)))))))
    # a parenthesised chain stays its own node: the tree says what was written
    assert parse("(a AND b) AND c") == And((And((a, b)), c))


def test_the_contract_example() -> None:
    assert parse("高血压 AND (VIP OR 银卡会员) AND NOT 流失") == And(
        (Tag("高血压"), Or((Tag("VIP"), Tag("银卡会员"))), Not(Tag("流失")))
    )


def test_chinese_operators_and_any_case() -> None:
    expected = And((Tag("高血压"), Or((Tag("VIP"), Tag("银卡会员"))), Not(Tag("流失"))))
    assert parse("高血压 且 （VIP 或 银卡会员） 且 非 流失") == expected
    assert parse("高血压 and (VIP Or 银卡会员) aNd not 流失") == expected
    # ideographic spaces separate words too
    assert parse("高血压\u3000且\u3000非\u3000流失") == And((Tag("高血压"), Not(Tag("流失"))))


def test_bare_names_take_letters_digits_underscore_and_hyphen() -> None:
    assert parse("2型糖尿病 OR post-op_30d OR Café") == Or(
        (Tag("2型糖尿病"), Tag("post-op_30d"), Tag("Café"))
    )
    # an operator inside a longer word is part of the name
    assert parse("非会员 OR ANDROID OR 或许") == Or((Tag("非会员"), Tag("ANDROID"), Tag("或许")))


def test_quoted_names_with_spaces_escapes_and_operator_words() -> None:
    assert parse('"tag with spaces" AND "say \\"hi\\"" OR "back\\\\slash"') == Or(
        (And((Tag("tag with spaces"), Tag('say "hi"'))), Tag("back\\slash"))
    )
    assert parse('"AND" OR "非" OR "a(b)"') == Or((Tag("AND"), Tag("非"), Tag("a(b)")))
    # a backslash before anything else is itself
    assert parse('"a\\b"') == Tag("a\\b")


def test_tags_remember_where_they_were_written() -> None:
    tree = parse('  x AND ("y z" OR 高血压)')
    assert isinstance(tree, And)
    assert [t.position for t in (tree.xs[0], *tree.xs[1].xs)] == [2, 9, 18]  # type: ignore[union-attr]
    assert Tag("x", 2) == Tag("x")  # position is not part of equality


# --- errors: where, and what it says --------------------------------------------------------

ERRORS = [
    # text, key, position (0-based), extra params
    ("", "audience.expr.empty", 0, {}),
    ("   ", "audience.expr.empty", 0, {}),
    ("a b", "audience.expr.missing_operator", 2, {"token": "b"}),
    ("高血压 VIP", "audience.expr.missing_operator", 4, {"token": "VIP"}),
    ("a NOT b", "audience.expr.missing_operator", 2, {"token": "NOT"}),
    ("a (b)", "audience.expr.missing_operator", 2, {"token": "("}),
    ("(a b)", "audience.expr.missing_operator", 3, {"token": "b"}),
    ("(a OR b", "audience.expr.unclosed_paren", 0, {}),
    ("a AND ((b OR c)", "audience.expr.unclosed_paren", 6, {}),
    ("a)", "audience.expr.unmatched_paren", 1, {}),
    (") a", "audience.expr.unmatched_paren", 0, {}),
    ("()", "audience.expr.empty_parens", 1, {}),
    ("a AND", "audience.expr.unexpected_end", 5, {}),
    ("NOT", "audience.expr.unexpected_end", 3, {}),
    ("AND a", "audience.expr.expected_tag", 0, {"token": "AND"}),
    ("a OR 且 b", "audience.expr.expected_tag", 5, {"token": "且"}),
    ("(a OR )", "audience.expr.expected_tag", 6, {"token": ")"}),
    ("a && b", "audience.expr.bad_char", 2, {"char": "&"}),
    ("a, b", "audience.expr.bad_char", 1, {"char": ","}),
    ('a OR "b', "audience.expr.unterminated_quote", 5, {}),
    ('a OR "b\\"', "audience.expr.unterminated_quote", 5, {}),
    ('a OR ""', "audience.expr.empty_name", 5, {}),
]


@pytest.mark.parametrize(("text", "key", "position", "params"), ERRORS)
def test_malformed_expressions_say_where(
    text: str, key: str, position: int, params: dict[str, str]
) -> None:
    with pytest.raises(ExprError) as err:
        parse(text)
    assert (err.value.key, err.value.position) == (key, position)
    assert err.value.params == {"column": position + 1, **params}


def test_messages_in_both_languages() -> None:
    def message(text: str, locale: str) -> str:
        with pytest.raises(ExprError) as err:
            parse(text)
        return translate(err.value.key, locale, **err.value.params)

    assert message("a b", "zh-CN") == "第 3 个字符「b」前缺少运算符：请写 AND 或 OR。"
    assert message("a b", "en") == (
        'An operator is missing before "b" at character 3: write AND or OR.'
    )
    assert message("(a OR b", "zh-CN") == "第 1 个字符处的「(」缺少对应的「)」。"
    assert message("(a OR b", "en") == 'The "(" at character 1 is never closed.'
    assert message("", "zh-CN") == "请填写标签表达式，例如：高血压 AND NOT 流失"
    assert message("", "en") == "Enter a tag expression, e.g. hypertension AND NOT churned"
    assert message("a AND", "en") == (
        "The expression is incomplete: a tag name is missing at character 6."
    )
    assert message("a AND", "zh-CN") == "表达式不完整：第 6 个字符处还缺一个标签名。"


@pytest.mark.parametrize(("text", "key", "position", "params"), ERRORS)
def test_every_error_renders_fully_in_both_languages(
    text: str, key: str, position: int, params: dict[str, str]
) -> None:
    with pytest.raises(ExprError) as err:
        parse(text)
    zh, en = (translate(err.value.key, loc, **err.value.params) for loc in ("zh-CN", "en"))
    assert err.value.key in MESSAGES
    assert "{" not in zh + en
    if key != "audience.expr.empty":
        assert str(position + 1) in zh
        assert str(position + 1) in en


def test_too_long() -> None:
    parse("a OR " * 399 + "a")  # 1,996 characters: fine
    with pytest.raises(ExprError) as err:
        parse("a OR " * 400 + "a")
    assert (err.value.key, err.value.position) == ("audience.expr.too_long", MAX_LENGTH)
    assert translate(err.value.key, "en", **err.value.params) == (
        "An expression has at most 2000 characters."
    )
    assert translate(err.value.key, "zh-CN", **err.value.params) == "表达式最多 2000 个字符。"


@pytest.mark.parametrize(
    ("build", "levels"),
    [
        (lambda n: "(" * n + "a" + ")" * n, 1),
        (lambda n: "NOT " * n + "a", 1),
        (lambda n: "非 (" * n + "a" + ")" * n, 2),  # each step is a NOT and a parenthesis
    ],
)
def test_too_deep(build: Callable[[int], str], levels: int) -> None:
    parse(build(MAX_DEPTH // levels))
    with pytest.raises(ExprError) as err:
        parse(build(MAX_DEPTH // levels + 1))
    assert err.value.key == "audience.expr.too_deep"
    column = err.value.position + 1
    assert translate(err.value.key, "en", **err.value.params) == (
        f"Nested too deeply at character {column}: "
        f"at most {MAX_DEPTH} levels of parentheses and NOT."
    )
    assert translate(err.value.key, "zh-CN", **err.value.params) == (
        f"第 {column} 个字符处嵌套过深：括号和 NOT 最多嵌套 {MAX_DEPTH} 层。"
    )


def test_too_deep_points_at_the_first_level_too_many() -> None:
    with pytest.raises(ExprError) as err:
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    assert err.value.position == MAX_DEPTH
    # a long expression in breadth is not deep
    parse(" AND ".join(f"(t{i} OR u{i})" for i in range(100)))


def test_unknown_tags_are_found_at_their_position() -> None:
    tree = parse('VIP AND ("高 血压" OR 流失)')
    check_tags(tree, {"VIP", "高 血压", "流失", "other"})
    with pytest.raises(ExprError) as err:
        check_tags(tree, {"VIP", "流失"})
    assert (err.value.key, err.value.position) == ("audience.expr.unknown_tag", 9)
    assert translate(err.value.key, "zh-CN", **err.value.params) == (
        "第 10 个字符处的标签「高 血压」不存在。"
    )
    assert translate(err.value.key, "en", **err.value.params) == (
        'There is no tag "高 血压" (character 10).'
    )
    # names match exactly
    with pytest.raises(ExprError):
        check_tags(parse("vip"), {"VIP"})


def test_an_unknown_tag_with_an_operator_glued_in_says_to_add_spaces() -> None:
    with pytest.raises(ExprError) as err:
        check_tags(parse("VIP OR 高血压且非流失"), {"VIP", "高血压", "流失"})
    assert (err.value.key, err.value.position) == ("audience.expr.unknown_tag_spacing", 7)
    assert translate(err.value.key, "zh-CN", **err.value.params) == (
        "第 8 个字符处的标签「高血压且非流失」不存在。运算符 且 / 或 / 非 前后要留空格。"
    )
    assert translate(err.value.key, "en", **err.value.params).endswith(
        "Put spaces around 且 / 或 / 非."
    )
    # a real tag with 非 in its name is fine
    check_tags(parse("非会员"), {"非会员"})


# --- printing back --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("高血压", "高血压"),
        ("post-op_30d", "post-op_30d"),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("and", '"and"'),
        ("或", '"或"'),
        ("a(b)", '"a(b)"'),
    ],
)
def test_quote(name: str, written: str) -> None:
    assert quote(name) == written
    assert parse(written) == Tag(name)


def test_to_text_uses_only_the_parentheses_needed() -> None:
    assert to_text(Or((a, And((b, c))))) == "a OR b AND c"
    assert to_text(And((Or((a, b)), c))) == "(a OR b) AND c"
    assert to_text(And((And((a, b)), c))) == "(a AND b) AND c"
    assert to_text(Not(Or((a, b)))) == "NOT (a OR b)"
    assert to_text(Not(Not(a))) == "NOT NOT a"
    assert to_text(Or((Or((a, b)), Not(c)))) == "(a OR b) OR NOT c"
    assert to_text(And((a,))) == "a"


def test_and_or_need_an_operand() -> None:
    with pytest.raises(ValueError, match="at least one"):
        And(())
    with pytest.raises(ValueError, match="at least one"):
        Or([])
    assert And([a, b]) == And((a, b))  # lists become tuples: nodes stay hashable
    assert hash(And([a, b])) == hash(And((a, b)))


# --- the reference evaluator ----------------------------------------------------------------

PEOPLE = {1: {"a", "b"}, 2: {"a"}, 3: {"b", "c"}, 4: set(), 5: {"c"}}


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("a", {1, 2}),
        ("NOT a", {3, 4, 5}),
        ("a AND b", {1}),
        ("a OR c", {1, 2, 3, 5}),
        ("a OR b AND c", {1, 2, 3}),
        ("(a OR b) AND c", {3}),
        ("NOT a AND NOT b", {4, 5}),
        ("NOT (a OR b)", {4, 5}),
        ("NOT NOT a", {1, 2}),
        ("unknown", set()),
        ("NOT unknown", {1, 2, 3, 4, 5}),
    ],
)
def test_evaluate(text: str, ids: set[int]) -> None:
    assert evaluate(parse(text), PEOPLE) == ids


# --- property: the printed text means the tree ---------------------------------------------

NAMES = ["高血压", "VIP", "银卡会员", "tag with spaces", 'say "hi"', "AND", "非", "a\\b", "x-1_y"]
names = st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=6))


def _trees(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(children.map(Not), many.map(And), many.map(Or))


trees: st.SearchStrategy[Node] = st.recursive(names.map(Tag), _trees, max_leaves=12)
people = st.dictionaries(
    st.integers(1, 40), st.sets(st.sampled_from(NAMES), max_size=len(NAMES)), max_size=25
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=trees, tags_of=people)
def test_printed_text_parses_back_to_the_same_tree_and_meaning(
    tree: Node, tags_of: dict[int, set[str]]
) -> None:
    text = to_text(tree)
    back = parse(text)
    assert back == tree
    assert to_text(back) == text
    assert evaluate(back, tags_of) == evaluate(tree, tags_of)
