"""Messages of tracked links (the page shown for a link that does not exist).

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

TRACKING: dict[str, tuple[str, str]] = {
    "tracking.link_invalid.title": ("链接无效", "Link not found"),
    "tracking.link_invalid.body": (
        "该链接无效或已失效，请检查信息中的链接。",
        "This link is not valid or no longer works. Please check the link in your message.",
    ),
}
