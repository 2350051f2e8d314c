"""The audience expression language: boolean expressions over a tenant's tags.

    高血压 AND (VIP OR 银卡会员) AND NOT 流失
    "tag with spaces" 或 VIP 且 非 "say \\"hi\\""

- A tag name is bare (letters of any script, digits, ``_`` and ``-``) or
  double-quoted, with ``\\"`` and ``\\\\`` as the only escapes. A name that
  is also an operator word (``"AND"``, ``"非"``) must be quoted.
- Operators are whole words: ``AND`` / ``OR`` / ``NOT`` in any case, and
  ``且`` / ``或`` / ``非``. Precedence NOT > AND > OR, so ``a OR b AND c`` is
  ``a OR (b AND c)``; parentheses (ASCII or full-width) group.
- Two terms side by side are an error, never an implicit AND: a forgotten
  operator should be shown, not guessed.

Errors are :class:`ExprError` with a message key of ``prm_saas.i18n_audiences``
and the 0-based character ``position`` the page puts the caret under. Tag names
are checked against the tenant's tags when the expression is compiled
(:func:`check_tags`, :func:`compile_sql`), so parsing needs no database.

:func:`evaluate` is the pure reference meaning (tests compare the SQL with it);
:func:`compile_sql` is what audiences run: a boolean clause on ``Patient.id``
made of EXISTS / NOT EXISTS on ``patient_tag``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlmodel import col

from prm_saas.accounts.models import Patient
from prm_saas.tags.models import PatientTag
from tenants.errors import DomainError

MAX_LENGTH = 2_000
"""Longest expression accepted, in characters (a guard against abuse, far above
what a person types)."""
MAX_DEPTH = 50
"""Deepest nesting of parentheses and NOTs accepted (the parser recurses)."""

AND_WORDS = frozenset({"and", "且"})
OR_WORDS = frozenset({"or", "或"})
NOT_WORDS = frozenset({"not", "非"})
OPERATOR_WORDS = AND_WORDS | OR_WORDS | NOT_WORDS
OPEN_PARENS = frozenset("(（")
CLOSE_PARENS = frozenset(")）")
_CJK_OPERATORS = "且或非"


class ExprError(DomainError):
    """A malformed expression or an unknown tag, at ``position`` (0-based
    character offset into the text). ``column`` (1-based) is added to the
    message parameters so the message can say where."""

    key = "audience.expr.invalid"

    def __init__(self, key: str, position: int, /, **params: Any) -> None:
        self.position = position
        super().__init__(key, column=position + 1, **params)


# --- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """A patient has the tag ``name``. ``position`` is where it was written (for
    error messages; not part of equality)."""

    name: str
    position: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    """A patient does not match ``x``."""

    x: Node


@dataclass(frozen=True)
class And:
    """A patient matches every one of ``xs`` (at least one)."""

    xs: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "xs", tuple(self.xs))
        if not self.xs:
            raise ValueError("And needs at least one operand")


@dataclass(frozen=True)
class Or:
    """A patient matches at least one of ``xs`` (at least one)."""

    xs: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "xs", tuple(self.xs))
        if not self.xs:
            raise ValueError("Or needs at least one operand")


Node: TypeAlias = Tag | Not | And | Or


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "and", "or", "not", "(", ")", "end"
    text: str  # the tag name (unescaped) or the source text of the token
    position: int


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in OPEN_PARENS:
            yield _Token("(", ch, i)
            i += 1
        elif ch in CLOSE_PARENS:
            yield _Token(")", ch, i)
            i += 1
        elif ch == '"':
            start, i, chars = i, i + 1, []
            while True:
                if i >= n:
                    raise ExprError("audience.expr.unterminated_quote", start)
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    chars.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    chars.append(c)
                    i += 1
            if not chars:
                raise ExprError("audience.expr.empty_name", start)
            yield _Token("name", "".join(chars), start)
        elif _is_name_char(ch):
            start = i
            while i < n and _is_name_char(text[i]):
                i += 1
            word = text[start:i]
            low = word.lower()
            if low in AND_WORDS:
                yield _Token("and", word, start)
            elif low in OR_WORDS:
                yield _Token("or", word, start)
            elif low in NOT_WORDS:
                yield _Token("not", word, start)
            else:
                yield _Token("name", word, start)
        else:
            raise ExprError("audience.expr.bad_char", i, char=ch)
    yield _Token("end", "", n)


# --- the parser ----------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the grammar

    or   := and (OR and)*
    and  := not (AND not)*
    not  := NOT not | atom
    atom := NAME | "(" or ")"
    """

    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("audience.expr.empty", 0)
        node = self.or_()
        t = self.tok
        if t.kind != "end":
            # Whatever stopped the OR loop is not an operator: a stray ")" or a
            # term right after a term.
            if t.kind == ")":
                raise ExprError("audience.expr.unmatched_paren", t.position)
            raise ExprError("audience.expr.missing_operator", t.position, token=t.text)
        return node

    def or_(self) -> Node:
        xs = [self.and_()]
        while self.tok.kind == "or":
            self.take()
            xs.append(self.and_())
        return xs[0] if len(xs) == 1 else Or(tuple(xs))

    def and_(self) -> Node:
        xs = [self.not_()]
        while self.tok.kind == "and":
            self.take()
            xs.append(self.not_())
        return xs[0] if len(xs) == 1 else And(tuple(xs))

    def not_(self) -> Node:
        if self.tok.kind == "not":
            self.enter(self.take())
            node: Node = Not(self.not_())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "name":
            self.take()
            return Tag(t.text, t.position)
        if t.kind == "(":
            self.enter(self.take())
            if self.tok.kind == ")":
                raise ExprError("audience.expr.empty_parens", self.tok.position)
            node = self.or_()
            if self.tok.kind != ")":
                if self.tok.kind == "end":
                    raise ExprError("audience.expr.unclosed_paren", t.position)
                raise ExprError(
                    "audience.expr.missing_operator", self.tok.position, token=self.tok.text
                )
            self.take()
            self.depth -= 1
            return node
        if t.kind == "end":
            raise ExprError("audience.expr.unexpected_end", t.position)
        if t.kind == ")" and self.depth == 0:
            raise ExprError("audience.expr.unmatched_paren", t.position)
        # an operator or ")" where a tag belongs
        raise ExprError("audience.expr.expected_tag", t.position, token=t.text)

    def enter(self, t: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("audience.expr.too_deep", t.position, max=MAX_DEPTH)


def parse(text: str) -> Node:
    """The tree of ``text``; raises :class:`ExprError` where it is malformed.

    Tag names are not checked here (see :func:`check_tags`)."""
    if len(text) > MAX_LENGTH:
        raise ExprError("audience.expr.too_long", MAX_LENGTH, max=MAX_LENGTH)
    return _Parser(text).parse()


# --- back to text --------------------------------------------------------------------------


def quote(name: str) -> str:
    """``name`` as written in an expression: bare when it can be, else quoted."""
    if name and all(_is_name_char(c) for c in name) and name.lower() not in OPERATOR_WORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_text(node: Node) -> str:
    """The expression of ``node`` with ASCII operators and no more parentheses
    than needed: ``parse(to_text(node)) == node`` for every tree whose And/Or
    have at least two operands (the parser's trees)."""
    if isinstance(node, Tag):
        return quote(node.name)
    if isinstance(node, Not):
        inner = node.x
        body = to_text(inner)
        return f"NOT ({body})" if isinstance(inner, And | Or) else f"NOT {body}"
    if isinstance(node, And):
        if len(node.xs) == 1:
            return to_text(node.xs[0])
        return " AND ".join(
            f"({to_text(x)})" if isinstance(x, And | Or) else to_text(x) for x in node.xs
        )
    if len(node.xs) == 1:
        return to_text(node.xs[0])
    return " OR ".join(f"({to_text(x)})" if isinstance(x, Or) else to_text(x) for x in node.xs)


def tags_in(node: Node) -> Iterator[Tag]:
    """Every Tag of ``node``, left to right."""
    if isinstance(node, Tag):
        yield node
    elif isinstance(node, Not):
        yield from tags_in(node.x)
    else:
        for x in node.xs:
            yield from tags_in(x)


def check_tags(node: Node, known: Iterable[str]) -> None:
    """Raise :class:`ExprError` at the first tag of ``node`` not in ``known``
    (the tenant's tag names)."""
    names = set(known)
    for tag in tags_in(node):
        if tag.name not in names:
            position = max(tag.position, 0)
            if any(op in tag.name for op in _CJK_OPERATORS) and len(tag.name) > 1:
                # 高血压且VIP: operators are words, and Chinese has no spaces to end them
                raise ExprError("audience.expr.unknown_tag_spacing", position, name=tag.name)
            raise ExprError("audience.expr.unknown_tag", position, name=tag.name)


# --- meaning -------------------------------------------------------------------------------


def evaluate(node: Node, tags_of: Mapping[int, set[str]]) -> set[int]:
    """The ids of ``tags_of`` (patient id -> tag names; every patient of the
    tenant, tagged or not) that match ``node``: the reference meaning."""
    if isinstance(node, Tag):
        return {p for p, names in tags_of.items() if node.name in names}
    if isinstance(node, Not):
        return set(tags_of) - evaluate(node.x, tags_of)
    parts = [evaluate(x, tags_of) for x in node.xs]
    if isinstance(node, And):
        return set.intersection(*parts)
    return set.union(*parts)


def compile_sql(node: Node, tag_ids: Mapping[str, int]) -> sa.ColumnElement[bool]:
    """A boolean SQL clause on ``Patient.id`` true for the patients matching
    ``node``, for ``select(Patient.id).where(...)`` in a tenant session.

    ``tag_ids`` maps the tenant's tag names to their ids (only this tenant's:
    a name missing from it raises ``audience.expr.unknown_tag``). Each tag is
    an EXISTS on ``patient_tag`` correlated on patient and tenant; the OR of
    plain tags is one EXISTS with ``tag_id IN (...)``."""
    check_tags(node, tag_ids)
    return _sql(node, tag_ids)


def _exists(tag_ids: Sequence[int]) -> sa.ColumnElement[bool]:
    tag = col(PatientTag.tag_id)
    return (
        sa.select(sa.literal(1))
        .where(
            col(PatientTag.tenant_id) == col(Patient.tenant_id),
            col(PatientTag.patient_id) == col(Patient.id),
            tag == tag_ids[0] if len(tag_ids) == 1 else tag.in_(tag_ids),
        )
        .exists()
    )


def _sql(node: Node, tag_ids: Mapping[str, int]) -> sa.ColumnElement[bool]:
    if isinstance(node, Tag):
        return _exists([tag_ids[node.name]])
    if isinstance(node, Not):
        return sa.not_(_sql(node.x, tag_ids))
    if isinstance(node, And):
        return sa.and_(*(_sql(x, tag_ids) for x in node.xs))
    plain = sorted({tag_ids[x.name] for x in node.xs if isinstance(x, Tag)})
    rest = [_sql(x, tag_ids) for x in node.xs if not isinstance(x, Tag)]
    return sa.or_(*([_exists(plain)] if plain else []), *rest)
