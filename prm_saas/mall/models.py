"""The health-check catalog (体检商城): packages made of exam items, categories,
add-ons, and where each package is offered. Money is integer fen."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class TargetSex(enum.StrEnum):
    """Who a package is meant for."""

    ANY = "any"
    MALE = "male"
    FEMALE = "female"


class PackageCategory(TenantScoped, table=True):
    """A shelf of the mall (入职体检, 中老年体检, 女性专项, ...)."""

    __tablename__ = "package_category"

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=60)
    name_en: str = Field(default="", max_length=60)
    sort_order: int = 0
    active: bool = True


class ExamItem(TenantScoped, table=True):
    """One examination (血常规, 胸部CT, 胃镜...). Items that need a scarce resource
    (a CT scanner, a gastroscopy room) name it; each booking uses one unit of it
    on its day."""

    __tablename__ = "exam_item"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", name="uq_exam_item_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=30)
    name_zh: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    description_zh: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    price_fen: int = 0  # as an add-on
    resource_key: str = Field(default="", max_length=30)  # e.g. "ct", "gastroscopy"
    active: bool = True


class HealthPackage(TenantScoped, table=True):
    """A bookable health-check package (体检套餐)."""

    __tablename__ = "health_package"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="uq_package_code"),
        sa.CheckConstraint("sale_price_fen >= 0 AND list_price_fen >= 0", name="ck_package_price"),
        sa.CheckConstraint("min_age >= 0 AND max_age >= min_age", name="ck_package_ages"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=30)
    category_id: int | None = Field(default=None, foreign_key="package_category.id")
    name_zh: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    summary_zh: str = Field(default="", max_length=200)
    summary_en: str = Field(default="", max_length=200)
    description_zh: str = Field(default="", max_length=4000)
    description_en: str = Field(default="", max_length=4000)
    instructions_zh: str = Field(default="", max_length=2000)  # 体检须知: fasting, no alcohol...
    instructions_en: str = Field(default="", max_length=2000)
    fasting_required: bool = False
    target_sex: TargetSex = Field(default=TargetSex.ANY, sa_type=sa.String(8))
    min_age: int = 0
    max_age: int = 120
    list_price_fen: int = 0
    sale_price_fen: int = 0
    image_url: str = Field(default="", max_length=500)
    published: bool = False
    sort_order: int = 0
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class PackageItem(TenantScoped, table=True):
    """An item included in a package."""

    __tablename__ = "package_item"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "package_id", "item_id", name="uq_package_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="health_package.id", index=True)
    item_id: int = Field(foreign_key="exam_item.id")


class PackageAddOn(TenantScoped, table=True):
    """An item a patient may add to a package at booking, at this price."""

    __tablename__ = "package_addon"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "package_id", "item_id", name="uq_package_addon"),
        sa.CheckConstraint("price_fen >= 0", name="ck_addon_price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="health_package.id", index=True)
    item_id: int = Field(foreign_key="exam_item.id")
    price_fen: int = 0


class PackageLocation(TenantScoped, table=True):
    """A location where a package can be booked."""

    __tablename__ = "package_location"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "package_id", "location_id", name="uq_package_location"),
    )

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="health_package.id", index=True)
    location_id: int = Field(foreign_key="location.id")
