"""What a freshly signed-up tenant starts with, so its admin lands in a working
clinic instead of empty screens: a first location open on weekday mornings, a few
sample packages on the mall's shelf (marked as samples, removable in one go),
the default message templates and default quiet hours.

Everything goes through the capability services (locations, hours, the catalog
editor, messaging settings), acting as the tenant's first admin, so the same
checks run and the tenant's audit log shows what was set up.

Templates: every template has a built-in wording in both languages that applies
while the tenant has no wording of its own (``messaging.templates``), so the
defaults are in force from the first minute without copying them into rows (a
copy would freeze them: later improvements of the built-in wording would not
reach the tenant, and "reset to default" would mean nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import AccountStatus, StaffMember, StaffRole
from prm_saas.audit.services import record
from prm_saas.booking.schedule import add_hours, create_location
from prm_saas.mall.admin import PackageInput, save_category, save_item, save_package, set_published
from prm_saas.mall.models import ExamItem, HealthPackage, PackageCategory
from prm_saas.messaging.models import MessagingSettings
from prm_saas.messaging.preferences import update_messaging_settings
from prm_saas.messaging.templates import all_specs
from tenants.db import TenantSession
from tenants.models import Tenant

# Codes of everything provisioning creates as a sample: the admin removes them all
# with remove_samples, or one by one in the catalog editor.
SAMPLE_PREFIX = "SAMPLE-"
# Checkups are done fasting: mornings, Monday to Saturday.
OPEN_WEEKDAYS = (0, 1, 2, 3, 4, 5)
OPEN_START, OPEN_END = "07:30", "11:30"
SLOT_MINUTES, SLOT_CAPACITY = 30, 10
QUIET_START, QUIET_END = "21:00", "08:00"
DAILY_MARKETING_CAP = 3

# (code, name zh, name en, price yuan)
_ITEMS = (
    ("SAMPLE-VITALS", "身高体重血压", "Height, weight and blood pressure", "20"),
    ("SAMPLE-BLOOD", "血常规", "Complete blood count", "30"),
    ("SAMPLE-LIVER", "肝功能", "Liver function", "60"),
    ("SAMPLE-GLUCOSE", "空腹血糖", "Fasting glucose", "15"),
    ("SAMPLE-ECG", "心电图", "ECG", "40"),
)
# (code, name zh, name en, items, list yuan, sale yuan, fasting)
_PACKAGES = (
    (
        "SAMPLE-BASIC",
        "【示例】基础体检套餐",
        "[Sample] Basic checkup",
        ("SAMPLE-VITALS", "SAMPLE-BLOOD", "SAMPLE-GLUCOSE", "SAMPLE-ECG"),
        "199",
        "159",
        True,
    ),
    (
        "SAMPLE-PLUS",
        "【示例】全面体检套餐",
        "[Sample] Comprehensive checkup",
        ("SAMPLE-VITALS", "SAMPLE-BLOOD", "SAMPLE-LIVER", "SAMPLE-GLUCOSE", "SAMPLE-ECG"),
        "399",
        "299",
        True,
    ),
)
_SAMPLE_NOTE_ZH = "这是注册时自动创建的示例套餐，可在套餐管理中修改，或一键删除全部示例。"
_SAMPLE_NOTE_EN = (
    "A sample package created at sign-up: edit it in the catalog, or remove all samples at once."
)
_FASTING_ZH = "检查前一晚 22:00 后请勿进食。"
_FASTING_EN = "Please do not eat after 22:00 the evening before."


@dataclass(frozen=True)
class Provisioned:
    """What a new tenant was given."""

    location_id: int
    hours_ids: list[int]
    item_ids: list[int]
    package_ids: list[int]
    templates: int  # template keys whose built-in wording is in force
    quiet_start: str
    quiet_end: str


def _first_admin(session: TenantSession) -> Principal:
    admin = session.exec(
        select(StaffMember)
        .where(
            StaffMember.role == StaffRole.TENANT_ADMIN,
            col(StaffMember.status).in_([AccountStatus.ACTIVE, AccountStatus.INVITED]),
        )
        .order_by(col(StaffMember.id))
    ).first()
    if admin is None:
        raise LookupError("provisioning needs the tenant's first admin")
    return staff_principal(admin)


def provision_defaults(
    session: TenantSession, tenant: Tenant, *, actor: Principal | None = None
) -> Provisioned:
    """Give ``tenant`` (the session's tenant, just created) its starting setup, in
    the caller's transaction, acting as ``actor`` (default: its first admin)."""
    assert tenant.id is not None
    assert session.tenant_id == tenant.id
    admin = actor or _first_admin(session)
    loc = create_location(
        session=session,
        actor=admin,
        name_zh="总院",
        name_en="Main site",
        min_days_ahead=1,
        max_days_ahead=30,
    )
    assert loc.id is not None
    hours_ids = []
    for weekday in OPEN_WEEKDAYS:
        hours = add_hours(
            session=session,
            actor=admin,
            location_id=loc.id,
            weekday=weekday,
            start=OPEN_START,
            end=OPEN_END,
            slot_minutes=SLOT_MINUTES,
            capacity=SLOT_CAPACITY,
        )
        hours_ids.append(int(hours.id or 0))

    category_id = save_category(
        session=session, actor=admin, name_zh="示例套餐", name_en="Samples", sort_order="99"
    )
    items: dict[str, int] = {}
    for code, zh, en, price in _ITEMS:
        items[code] = save_item(
            session=session, actor=admin, code=code, name_zh=zh, name_en=en, price_yuan=price
        )
    package_ids = []
    for order, (code, zh, en, included, list_yuan, sale_yuan, fasting) in enumerate(_PACKAGES):
        package_id = save_package(
            session=session,
            actor=admin,
            data=PackageInput(
                code=code,
                name_zh=zh,
                name_en=en,
                summary_zh="示例套餐，可删除",
                summary_en="Sample package, can be deleted",
                description_zh=_SAMPLE_NOTE_ZH,
                description_en=_SAMPLE_NOTE_EN,
                instructions_zh=_FASTING_ZH if fasting else "",
                instructions_en=_FASTING_EN if fasting else "",
                fasting_required=fasting,
                list_price=list_yuan,
                sale_price=sale_yuan,
                category_id=str(category_id),
                sort_order=str(90 + order),
                item_ids=[items[i] for i in included],
                location_ids=[loc.id],
            ),
        )
        set_published(session=session, actor=admin, package_id=package_id, published=True)
        package_ids.append(package_id)

    # The settings row with the default quiet hours and marketing cap, written
    # (not left implicit) so the settings page shows what is in force.
    update_messaging_settings(
        session=session,
        actor=admin,
        email_enabled=True,
        email_from_name=tenant.name[:80],
        sms_enabled=False,
        sms_provider_url="",
        sms_sender="",
        quiet_start=QUIET_START,
        quiet_end=QUIET_END,
        daily_cap=DAILY_MARKETING_CAP,
        marketing_default=MessagingSettings().marketing_default,
    )
    return Provisioned(
        location_id=loc.id,
        hours_ids=hours_ids,
        item_ids=list(items.values()),
        package_ids=package_ids,
        templates=len(all_specs()),
        quiet_start=QUIET_START,
        quiet_end=QUIET_END,
    )


@dataclass(frozen=True)
class SamplesRemoved:
    """What remove_samples did."""

    deleted: list[str]  # codes of packages and items deleted
    unpublished: list[str]  # sample packages already ordered or booked: kept, off the shelf


def remove_samples(*, session: TenantSession, actor: Principal, ip: str = "") -> SamplesRemoved:
    """Delete the sample packages, items and category provisioning created.

    A sample someone already booked or ordered stays (its history refers to it)
    but is taken off the shelf. Only rows whose code carries the sample prefix
    are touched: what the admin created is never removed.
    """
    actor = require_staff(session, actor, Permission.CATALOG_MANAGE)
    deleted: list[str] = []
    unpublished: list[str] = []
    packages = session.exec(
        select(HealthPackage).where(col(HealthPackage.code).startswith(SAMPLE_PREFIX))
    ).all()
    for pkg in packages:
        if not _try_delete_package(session, pkg):
            if pkg.published:
                set_published(session=session, actor=actor, package_id=pkg.id, published=False)
            unpublished.append(pkg.code)
        else:
            deleted.append(pkg.code)
    for item in session.exec(
        select(ExamItem).where(col(ExamItem.code).startswith(SAMPLE_PREFIX))
    ).all():
        if _try_delete(session, item):
            deleted.append(item.code)
    for cat in session.exec(select(PackageCategory).where(PackageCategory.name_en == "Samples")):
        _try_delete(session, cat)
    if deleted or unpublished:
        record(
            session,
            actor=actor,
            action="mall.samples_removed",
            target_type="health_package",
            ip=ip,
            details={"deleted": deleted, "unpublished": unpublished},
        )
    return SamplesRemoved(deleted=deleted, unpublished=unpublished)


def _try_delete_package(session: TenantSession, pkg: HealthPackage) -> bool:
    from prm_saas.mall.models import PackageAddOn, PackageItem, PackageLocation

    try:
        with session.begin_nested():
            for model in (PackageItem, PackageAddOn, PackageLocation):
                for row in session.exec(select(model).where(col(model.package_id) == pkg.id)):
                    session.delete(row)
            session.flush()
            session.delete(pkg)
            session.flush()
    except DBAPIError:
        # Booked, ordered or viewed: bookings, orders and the view log point at it.
        return False
    return True


def _try_delete(session: TenantSession, row: object) -> bool:
    try:
        with session.begin_nested():
            session.delete(row)
            session.flush()
    except DBAPIError:
        return False
    return True
