"""Message catalog: every visible string in Simplified Chinese and English.

Keys are dotted names; values are (zh-CN, en). Parameters use str.format
syntax. Services raise errors with keys; pages render keys in the user's
language. A test checks that every key used in the code exists here.
"""

from __future__ import annotations

from typing import Any

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

MESSAGES: dict[str, tuple[str, str]] = {
    # --- errors shared by every feature -----------------------------------
    "error.generic": ("操作失败，请稍后再试。", "Something went wrong. Please try again."),
    "error.not_found": ("未找到该记录。", "Not found."),
    "error.permission_denied": ("您没有权限执行此操作。", "You are not allowed to do this."),
    "error.tenant_read_only": (
        "该机构账户已暂停，数据只读，无法修改。",
        "This organisation is suspended: data is read-only.",
    ),
    "error.invalid_input": ("请检查标红的字段。", "Please check the highlighted fields."),
    "error.session_expired": (
        "登录已过期，请重新登录。",
        "Your session has expired. Please sign in again.",
    ),
    # --- field validation ------------------------------------------------
    "field.required": ("此项必填。", "This field is required."),
    "field.too_long": ("最多 {max} 个字符。", "At most {max} characters."),
    "field.phone_invalid": ("手机号格式不正确。", "This phone number is not valid."),
    "field.email_invalid": ("邮箱格式不正确。", "This email address is not valid."),
    "field.phone_or_email": ("请填写手机号或邮箱。", "Enter a phone number or an email address."),
    "field.phone_taken": (
        "该手机号已在本机构注册。",
        "This phone number is already registered here.",
    ),
    "field.email_taken": (
        "该邮箱已在本机构注册。",
        "This email address is already registered here.",
    ),
    "field.password_short": ("密码至少 {min} 位。", "Passwords need at least {min} characters."),
    "field.password_weak": (
        "密码需同时包含字母和数字，且不能是常见密码。",
        "Use letters and digits, and not a common password.",
    ),
    "field.password_personal": (
        "密码不能包含手机号或邮箱。",
        "The password must not contain your phone number or email.",
    ),
    "field.password_mismatch": ("两次输入的密码不一致。", "The passwords do not match."),
    "field.slug_invalid": (
        "标识只能用小写字母、数字和连字符，以字母开头，{min}–{max} 位。",
        "Use {min}–{max} lowercase letters, digits and hyphens, starting with a letter.",
    ),
    "field.slug_reserved": ("该标识为系统保留。", "This identifier is reserved."),
    "field.slug_taken": ("该标识已被使用。", "This identifier is already taken."),
    "field.timezone_invalid": ("未知的时区。", "Unknown time zone."),
    "field.locale_invalid": ("不支持的语言。", "Unsupported language."),
    "field.color_invalid": ("颜色格式应为 #RRGGBB。", "Colors look like #RRGGBB."),
    "field.url_invalid": ("请输入以 https:// 开头的网址。", "Enter a URL starting with https://."),
    "field.choice_invalid": ("请选择有效的选项。", "Choose one of the options."),
    "field.date_invalid": ("日期格式应为 YYYY-MM-DD。", "Dates look like YYYY-MM-DD."),
    "field.birth_date_future": (
        "出生日期不能晚于今天。",
        "The date of birth cannot be in the future.",
    ),
    "field.code_invalid": ("验证码错误或已过期。", "The code is wrong or has expired."),
    "field.email_taken_staff": (
        "该邮箱已是本机构员工。",
        "This email already belongs to a staff member here.",
    ),
    # --- auth -------------------------------------------------------------
    "auth.bad_credentials": ("账号或密码错误。", "Wrong account or password."),
    "auth.locked": (
        "登录失败次数过多，请 {minutes} 分钟后再试。",
        "Too many failed sign-ins. Try again in {minutes} minutes.",
    ),
    "auth.disabled": (
        "该账号已停用，请联系机构管理员。",
        "This account is disabled. Contact your administrator.",
    ),
    "auth.invite_invalid": (
        "邀请链接无效或已过期。",
        "This invitation link is invalid or has expired.",
    ),
    "auth.sso_not_configured": (
        "本机构未启用单点登录。",
        "Single sign-on is not set up for this organisation.",
    ),
    "auth.sso_failed": ("单点登录失败：{reason}", "Single sign-on failed: {reason}"),
    "auth.sso_no_account": (
        "单点登录成功，但本机构没有与 {email} 对应的员工账号。",
        "Signed in with SSO, but {email} is not a staff member here.",
    ),
    # SSO errors carried to the sign-in page as ?sso_error=<key>: no parameters.
    "auth.sso_state_invalid": (
        "单点登录已过期或已使用，请重新登录。",
        "This single sign-on attempt has expired or was already used. Please start again.",
    ),
    "auth.sso_cancelled": ("单点登录已取消。", "Single sign-on was cancelled."),
    "auth.sso_provider_error": (
        "身份提供方暂时无法完成登录，请稍后再试。",
        "The identity provider could not complete the sign-in. Please try again later.",
    ),
    "auth.sso_token_invalid": (
        "身份提供方返回的登录凭证未通过校验，请联系机构管理员。",
        "The identity provider's sign-in token failed verification. Contact your administrator.",
    ),
    "auth.sso_email_unverified": (
        "身份提供方未确认您的邮箱，无法登录。",
        "The identity provider did not confirm your email address.",
    ),
    "auth.sso_unknown_staff": (
        "单点登录成功，但您的邮箱不是本机构的员工账号。",
        "Signed in with SSO, but your email address is not a staff account here.",
    ),
    "auth.sso_identity_mismatch": (
        "该员工账号已绑定另一个单点登录身份，请联系机构管理员。",
        "This staff account is linked to another SSO identity. Contact your administrator.",
    ),
    "auth.sso_read_only": (
        "该机构账户已暂停，暂不能激活新的员工账号。",
        "This organisation is suspended: new staff accounts cannot be activated.",
    ),
    "auth.reset_sent": (
        "如果该账号存在，验证码已发送，15 分钟内有效。",
        "If the account exists, a code is on its way. It is valid for 15 minutes.",
    ),
    "auth.reset_done": (
        "密码已重置，请用新密码登录。",
        "Your password was reset. Sign in with the new one.",
    ),
    "auth.last_admin": (
        "不能停用或降级最后一位机构管理员。",
        "The last tenant admin cannot be disabled or demoted.",
    ),
    "auth.not_self": (
        "不能修改自己的角色或停用自己。",
        "You cannot change your own role or disable yourself.",
    ),
    # --- messaging --------------------------------------------------------
    "messaging.bad_cap": (
        "每日上限应在 0–{max} 之间（0 表示不限）。",
        "The daily cap must be 0–{max} (0 means none).",
    ),
    "messaging.bad_time": ("时间格式应为 HH:MM，如 21:00。", "Times look like HH:MM, e.g. 21:00."),
    "messaging.missing_variable": (
        "消息缺少变量 {name} 的值。",
        "The message has no value for {name}.",
    ),
    "messaging.no_address": (
        "该患者在此渠道没有联系方式。",
        "The patient has no address on this channel.",
    ),
    "messaging.template_syntax": (
        "模板格式错误（{token}）：变量只能是简单名称，例如 patient_name，不带格式或下标。",
        "Template error ({token}): variables are plain names such as patient_name.",
    ),
    "messaging.unknown_variable": (
        "未知变量 {name}。可用变量：{allowed}",
        "Unknown variable {name}. Available: {allowed}",
    ),
    # the unsubscribe page (/api/messaging/unsubscribe), shown in both languages at once
    "messaging.channel.email": ("邮件", "email"),
    "messaging.channel.sms": ("短信", "SMS"),
    "messaging.channel.inapp": ("站内消息", "in-app"),
    "messaging.unsubscribe.title": ("退订推广信息", "Unsubscribe"),
    "messaging.unsubscribe.question": (
        "不再接收{tenant}的{channel}推广信息？",
        "Stop promotional {channel} messages from {tenant}?",
    ),
    "messaging.unsubscribe.note": (
        "预约确认、就诊提醒等服务通知不受影响。",
        "Service messages such as booking confirmations and reminders still reach you.",
    ),
    "messaging.unsubscribe.button": ("确认退订", "Unsubscribe"),
    "messaging.unsubscribe.done": (
        "已退订：您将不再收到{tenant}的{channel}推广信息。",
        "Done: you will get no more promotional {channel} messages from {tenant}.",
    ),
    "messaging.unsubscribe.invalid": (
        "退订链接无效或已失效。",
        "This unsubscribe link is not valid.",
    ),
    # template names (the editor and the delivery log show them)
    "care.reminder": ("就诊 / 随访提醒", "Care reminder"),
    "marketing.health_tip": ("健康小贴士（营销）", "Health tip (marketing)"),
    "account.password_reset": ("密码重置验证码", "Password reset code"),
    "account.staff_invite": ("员工邀请", "Staff invitation"),
}


def translate(key: str, locale: str | None = None, /, **params: Any) -> str:
    """The message for ``key`` in ``locale`` (zh-CN when unknown), formatted."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if locale == "en" else pair[0]
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def normalize_locale(value: str | None) -> str | None:
    """A supported locale code, or None."""
    if not value:
        return None
    v = value.strip()
    if v.lower().startswith("en"):
        return "en"
    if v.lower().startswith("zh"):
        return "zh-CN"
    return None


def _merge_catalogs() -> None:
    """Page labels and each feature's messages live in their own modules."""
    from prm_saas.i18n_audiences import AUDIENCES
    from prm_saas.i18n_automations import AUTOMATIONS
    from prm_saas.i18n_billing import BILLING
    from prm_saas.i18n_billing_pages import BILLING_PAGES
    from prm_saas.i18n_booking import BOOKING
    from prm_saas.i18n_campaigns import CAMPAIGNS
    from prm_saas.i18n_challenges import CHALLENGES
    from prm_saas.i18n_dashboard_pages import DASHBOARD_PAGES
    from prm_saas.i18n_dashboards import DASHBOARDS
    from prm_saas.i18n_mall import MALL
    from prm_saas.i18n_marketing_pages import MARKETING_PAGES
    from prm_saas.i18n_member_pages import MEMBER_PAGES
    from prm_saas.i18n_membership import MEMBERSHIP
    from prm_saas.i18n_membership_admin import MEMBERSHIP_ADMIN
    from prm_saas.i18n_orders import ORDERS
    from prm_saas.i18n_platform_billing import PLATFORM_BILLING
    from prm_saas.i18n_signup import SIGNUP
    from prm_saas.i18n_tags import TAGS
    from prm_saas.i18n_tracking import TRACKING
    from prm_saas.i18n_ui import UI

    for part in (
        UI,
        MALL,
        BOOKING,
        ORDERS,
        CHALLENGES,
        MEMBERSHIP,
        MEMBER_PAGES,
        MEMBERSHIP_ADMIN,
        AUDIENCES,
        TAGS,
        TRACKING,
        CAMPAIGNS,
        AUTOMATIONS,
        PLATFORM_BILLING,
        SIGNUP,
        BILLING,
        MARKETING_PAGES,
        DASHBOARDS,
        DASHBOARD_PAGES,
        BILLING_PAGES,
    ):
        clash = set(part) & set(MESSAGES)
        if clash:
            raise RuntimeError(f"duplicate message keys: {sorted(clash)}")
        MESSAGES.update(part)


_merge_catalogs()
