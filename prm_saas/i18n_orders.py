"""Messages of orders, payment (Stripe or at the clinic) and refunds.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

ORDERS: dict[str, tuple[str, str]] = {
    # --- errors ---------------------------------------------------------------------------
    "orders.payment_unavailable": (
        "支付服务暂时不可用，请稍后再试。",
        "The payment service is unavailable. Please try again shortly.",
    ),
    "orders.card_invalid": ("银行卡信息无效，请检查后重试。", "The card details are not valid."),
    "orders.card_declined": (
        "银行卡被拒绝，请换一张卡再试。",
        "The card was declined. Please try another card.",
    ),
    "orders.amount_invalid": (
        "请输入大于 0 的金额（元），最多两位小数。",
        "Enter an amount in yuan above 0, with at most two decimals.",
    ),
    "orders.refund_too_much": (
        "退款金额不能超过可退金额 ¥{max}。",
        "The refund cannot exceed the refundable ¥{max}.",
    ),
    "orders.idempotency_key_invalid": (
        "请求无效，请刷新页面后重试。",
        "Invalid request. Please reload the page and try again.",
    ),
    "orders.method_invalid": ("请选择支付方式。", "Choose how to pay."),
    "orders.clinic_not_allowed": (
        "本机构不支持到店支付，请在线支付。",
        "This clinic does not accept payment at the front desk. Please pay online.",
    ),
    "orders.not_payable": ("该订单无需或无法支付。", "This order cannot be paid."),
    "orders.expired": (
        "订单已超时，预约名额已释放，请重新下单。",
        "The order has expired and the slot was released. Please book again.",
    ),
    "orders.not_clinic": ("该订单不是到店支付订单。", "This order is not paid at the clinic."),
    "orders.refund_key_reused": (
        "该退款请求已用于另一订单。",
        "This refund request was already used for another order.",
    ),
    "orders.not_refundable": ("该订单当前不可退款。", "This order cannot be refunded now."),
    "orders.not_cancellable": ("该订单当前不可取消。", "This order cannot be cancelled now."),
    "orders.status_invalid": ("未知的订单状态。", "Unknown order status."),
    # --- statuses and methods ---------------------------------------------------------------
    "orders.status": ("订单状态", "Order status"),
    "orders.method": ("支付方式", "Payment method"),
    "orders.status.pending_payment": ("待支付", "Awaiting payment"),
    "orders.status.paid": ("已支付", "Paid"),
    "orders.status.cancelled": ("已取消", "Cancelled"),
    "orders.status.expired": ("已超时", "Expired"),
    "orders.status.refunded": ("已退款", "Refunded"),
    "orders.status.partially_refunded": ("部分退款", "Partially refunded"),
    "orders.method.stripe": ("在线支付", "Online"),
    "orders.method.clinic": ("到店支付", "At the clinic"),
    # --- hosted pay page --------------------------------------------------------------------
    "orders.pay.title": ("订单支付", "Pay for your order"),
    "orders.pay.number": ("订单号", "Order"),
    "orders.pay.total": ("应付金额", "Amount due"),
    "orders.pay.card": ("银行卡", "Card"),
    "orders.pay.button": ("确认支付 ¥{amount}", "Pay ¥{amount}"),
    "orders.pay.working": ("正在支付…", "Paying…"),
    "orders.pay.paid": ("订单已支付，谢谢！", "This order is paid. Thank you!"),
    "orders.pay.closed": ("该订单无法支付（{status}）。", "This order cannot be paid ({status})."),
    "orders.pay.view_booking": ("查看预约", "View the booking"),
    "orders.pay.hold_note": (
        "请在 {time} 前完成支付，否则名额将被释放。",
        "Please pay before {time}, or the slot is released.",
    ),
    "orders.pay.not_found": ("支付链接无效或已过期。", "This payment link is not valid."),
    # --- admin pages ----------------------------------------------------------------------
    "nav.orders": ("订单", "Orders"),
    "orders.admin.title": ("订单管理", "Orders"),
    "orders.admin.search": ("订单号 / 手机号 / 姓名", "Order number / phone / name"),
    "orders.admin.all_statuses": ("全部状态", "All statuses"),
    "orders.admin.number": ("订单号", "Number"),
    "orders.admin.patient": ("患者", "Patient"),
    "orders.admin.status": ("状态", "Status"),
    "orders.admin.method": ("支付方式", "Payment"),
    "orders.admin.total": ("金额", "Total"),
    "orders.admin.paid": ("已付", "Paid"),
    "orders.admin.refunded": ("已退", "Refunded"),
    "orders.admin.created": ("下单时间", "Created"),
    "orders.admin.empty": ("没有符合条件的订单。", "No orders match."),
    "orders.admin.lines": ("订单明细", "Lines"),
    "orders.admin.payments": ("支付记录", "Payments"),
    "orders.admin.refunds": ("退款记录", "Refunds"),
    "orders.admin.refund": ("退款", "Refund"),
    "orders.admin.refund_amount": ("退款金额（元）", "Amount (yuan)"),
    "orders.admin.refund_reason": ("退款原因", "Reason"),
    "orders.admin.refundable": ("可退金额", "Refundable"),
    "orders.admin.refund_done": ("已退款 ¥{amount}。", "Refunded ¥{amount}."),
    "orders.admin.mark_clinic_paid": ("登记到店收款", "Record payment at the clinic"),
    "orders.admin.clinic_paid_done": ("已登记收款。", "Payment recorded."),
    "orders.admin.back": ("返回订单列表", "Back to orders"),
    "orders.admin.booking": ("预约", "Booking"),
}
