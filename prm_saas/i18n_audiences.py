"""Messages of audiences (目标人群): the tag expression language's errors, shown
under the caret of the audience builder.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
Every expression error has ``{column}`` (1-based character position).
"""

from __future__ import annotations

AUDIENCES: dict[str, tuple[str, str]] = {
    # --- the expression language (prm_saas/audiences/expr.py) -------------------------
    "audience.expr.invalid": (
        "第 {column} 个字符处表达式有误。",
        "The expression is wrong at character {column}.",
    ),
    "audience.expr.empty": (
        "请填写标签表达式，例如：高血压 AND NOT 流失",
        "Enter a tag expression, e.g. hypertension AND NOT churned",
    ),
    "audience.expr.too_long": (
        "表达式最多 {max} 个字符。",
        "An expression has at most {max} characters.",
    ),
    "audience.expr.too_deep": (
        "第 {column} 个字符处嵌套过深：括号和 NOT 最多嵌套 {max} 层。",
        "Nested too deeply at character {column}: at most {max} levels of parentheses and NOT.",
    ),
    "audience.expr.bad_char": (
        "第 {column} 个字符「{char}」不能出现在这里。运算符请用 AND / OR / NOT（或 且 / 或 / 非），"
        "含空格或符号的标签名请用英文双引号括起来。",
        "Character {column} ({char}) is not allowed here. Use AND / OR / NOT as operators, "
        'and put tag names with spaces or symbols in double quotes ("...").',
    ),
    "audience.expr.unterminated_quote": (
        "第 {column} 个字符处的引号没有结束。",
        "The quote at character {column} is never closed.",
    ),
    "audience.expr.empty_name": (
        "第 {column} 个字符处的引号内没有标签名。",
        "The quotes at character {column} hold no tag name.",
    ),
    "audience.expr.empty_parens": (
        "第 {column} 个字符处的括号内是空的。",
        "The parentheses end empty at character {column}.",
    ),
    "audience.expr.unclosed_paren": (
        "第 {column} 个字符处的「(」缺少对应的「)」。",
        'The "(" at character {column} is never closed.',
    ),
    "audience.expr.unmatched_paren": (
        "第 {column} 个字符处多了一个「)」。",
        'The ")" at character {column} has no matching "(".',
    ),
    "audience.expr.missing_operator": (
        "第 {column} 个字符「{token}」前缺少运算符：请写 AND 或 OR。",
        'An operator is missing before "{token}" at character {column}: write AND or OR.',
    ),
    "audience.expr.expected_tag": (
        "第 {column} 个字符处应为标签名或「(」，而不是「{token}」。",
        'A tag name or "(" belongs at character {column}, not "{token}".',
    ),
    "audience.expr.unexpected_end": (
        "表达式不完整：第 {column} 个字符处还缺一个标签名。",
        "The expression is incomplete: a tag name is missing at character {column}.",
    ),
    "audience.expr.unknown_tag": (
        "第 {column} 个字符处的标签「{name}」不存在。",
        'There is no tag "{name}" (character {column}).',
    ),
    "audience.expr.unknown_tag_spacing": (
        "第 {column} 个字符处的标签「{name}」不存在。运算符 且 / 或 / 非 前后要留空格。",
        'There is no tag "{name}" (character {column}). Put spaces around 且 / 或 / 非.',
    ),
    # --- saved audiences (prm_saas/audiences/services.py) -------------------------------
    "audience.definition_required": (
        "请填写标签表达式或至少一个属性筛选条件。",
        "Enter a tag expression or at least one attribute filter.",
    ),
    "audience.name_taken": ("已有同名的目标人群。", "An audience with this name already exists."),
    "audience.in_use": (
        "仍有营销活动使用这个目标人群，不能删除。",
        "A campaign still uses this audience; it cannot be deleted.",
    ),
}
