"""Messages of orders, payment (Stripe or at the clinic) and refunds.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

ORDERS: dict[str, tuple[str, str]] = {}
