"""A realistic health-check catalog for the demo tenants: four shelves, sixteen
exam items (CT and gastroscopy use scarce resources), six published packages
with add-ons, offered at the given locations. Prices are integer fen.

Idempotent: a tenant that already has exam items is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from prm_saas.mall.models import (
    ExamItem,
    HealthPackage,
    PackageAddOn,
    PackageCategory,
    PackageItem,
    PackageLocation,
    TargetSex,
)
from tenants.db import TenantSession
from tenants.types import utcnow

CATEGORIES = (
    ("employment", "入职体检", "Pre-employment"),
    ("senior", "中老年体检", "Seniors"),
    ("women", "女性专项", "For women"),
    ("deep", "深度体检", "In-depth checkups"),
)

# code, zh, en, add-on price in fen, resource key, description zh
ITEMS = (
    ("GEN01", "一般检查", "General examination", 3000, "", "身高、体重、血压、BMI"),
    ("LAB01", "血常规", "Complete blood count", 2500, "", "红细胞、白细胞、血小板等 22 项"),
    ("LAB02", "尿常规", "Urinalysis", 2000, "", "尿蛋白、尿糖、隐血等 11 项"),
    ("LAB03", "肝功能", "Liver function", 6000, "", "谷丙转氨酶、谷草转氨酶、胆红素等"),
    ("LAB04", "肾功能", "Kidney function", 5000, "", "肌酐、尿素氮、尿酸"),
    ("LAB05", "血脂四项", "Lipid panel", 5000, "", "总胆固醇、甘油三酯、高/低密度脂蛋白"),
    ("LAB06", "空腹血糖", "Fasting glucose", 1500, "", ""),
    ("LAB07", "肿瘤标志物", "Tumour markers", 32000, "", "AFP、CEA、CA19-9 等"),
    ("LAB08", "甲状腺功能", "Thyroid function", 18000, "", "T3、T4、TSH"),
    ("ECG01", "心电图", "Electrocardiogram", 3000, "", "12 导联静息心电图"),
    ("IMG01", "胸部正位片", "Chest X-ray", 8000, "", ""),
    ("IMG02", "胸部CT", "Chest CT (low dose)", 45000, "ct", "低剂量螺旋 CT，肺结节筛查"),
    ("US01", "腹部彩超", "Abdominal ultrasound", 15000, "", "肝、胆、胰、脾、双肾"),
    ("US02", "乳腺彩超", "Breast ultrasound", 12000, "", ""),
    ("GYN01", "妇科检查+TCT", "Gynaecological exam + TCT", 26000, "", "宫颈液基细胞学检查"),
    ("ENDO01", "无痛胃镜", "Painless gastroscopy", 98000, "gastroscopy", "静脉麻醉下胃镜检查"),
)

FASTING_ZH = (
    "体检前一天晚餐清淡，晚 10 点后禁食，需空腹 8 小时以上；前三天勿饮酒；体检当日早晨可少量饮水。"
)
FASTING_EN = (
    "Eat a light dinner the day before and nothing after 10 pm (fast 8 hours or more); "
    "no alcohol for three days; a few sips of water on the morning are fine."
)


@dataclass(frozen=True)
class DemoPackage:
    """A package of the demo catalog."""

    code: str
    category: str
    name_zh: str
    name_en: str
    summary_zh: str
    summary_en: str
    items: tuple[str, ...]
    addons: tuple[tuple[str, int], ...]  # item code, price in fen
    list_fen: int
    sale_fen: int
    target_sex: TargetSex = TargetSex.ANY
    min_age: int = 0
    max_age: int = 120
    fasting: bool = True
    extra_zh: str = ""
    extra_en: str = ""


_BASIC = ("GEN01", "LAB01", "LAB02", "LAB03", "LAB04", "ECG01", "IMG01")

PACKAGES = (
    DemoPackage(
        "EMP-BASIC",
        "employment",
        "入职基础体检套餐",
        "Pre-employment basic",
        "满足大多数单位入职要求，当天出具报告",
        "Meets most employers' requirements; report on the day",
        _BASIC,
        (("LAB06", 1500), ("US01", 12000)),
        39900,
        19900,
        min_age=16,
    ),
    DemoPackage(
        "EMP-PLUS",
        "employment",
        "入职加强体检套餐",
        "Pre-employment plus",
        "入职基础项目 + 腹部彩超 + 血脂血糖",
        "The basic checks plus abdominal ultrasound, lipids and glucose",
        (*_BASIC, "US01", "LAB05", "LAB06"),
        (("LAB08", 15000),),
        69900,
        45900,
        min_age=16,
    ),
    DemoPackage(
        "SENIOR",
        "senior",
        "中老年综合体检套餐",
        "Seniors' comprehensive checkup",
        "心脑血管、肿瘤筛查与低剂量胸部CT",
        "Heart, vessels, cancer screening and a low-dose chest CT",
        (*_BASIC, "US01", "LAB05", "LAB06", "LAB07", "IMG02"),
        (("ENDO01", 88000), ("LAB08", 15000)),
        268000,
        198000,
        min_age=45,
    ),
    DemoPackage(
        "WOMEN",
        "women",
        "女性两癌筛查套餐",
        "Women's breast and cervical screening",
        "乳腺彩超 + 妇科检查 + TCT",
        "Breast ultrasound, gynaecological exam and TCT",
        ("GEN01", "LAB01", "US02", "GYN01", "LAB08"),
        (("US01", 12000),),
        128000,
        89900,
        target_sex=TargetSex.FEMALE,
        min_age=20,
        max_age=70,
        fasting=False,
        extra_zh="请避开月经期；检查前 3 天避免阴道用药及性生活。",
        extra_en="Avoid your period; no vaginal medication or intercourse for 3 days before.",
    ),
    DemoPackage(
        "MEN-DEEP",
        "deep",
        "男士深度体检套餐",
        "In-depth checkup for men",
        "含无痛胃镜与胸部CT的全面筛查",
        "A full screening with painless gastroscopy and chest CT",
        (*_BASIC, "US01", "LAB05", "LAB06", "LAB07", "LAB08", "IMG02", "ENDO01"),
        (),
        458000,
        368000,
        target_sex=TargetSex.MALE,
        min_age=30,
        extra_zh="无痛胃镜需家属陪同，检查后 24 小时内不可驾车。",
        extra_en="Painless gastroscopy needs a companion; do not drive for 24 hours afterwards.",
    ),
    DemoPackage(
        "DEEP",
        "deep",
        "精英深度体检套餐",
        "Executive in-depth checkup",
        "全面覆盖心、肺、肝、肾、甲状腺及肿瘤筛查",
        "Heart, lungs, liver, kidneys, thyroid and cancer screening",
        (*_BASIC, "US01", "LAB05", "LAB06", "LAB07", "LAB08", "IMG02"),
        (("ENDO01", 88000),),
        329900,
        259900,
        min_age=25,
    ),
)


def seed_catalog(session: TenantSession, *, location_ids: list[int]) -> None:
    """Create the demo catalog in the session's tenant, every package published
    and offered at ``location_ids``. Does nothing if the tenant has exam items."""
    if session.exec(select(ExamItem.id)).first() is not None:
        return
    now = utcnow()
    cats: dict[str, int] = {}
    for order, (key, zh, en) in enumerate(CATEGORIES):
        cat = PackageCategory(name_zh=zh, name_en=en, sort_order=order)
        session.add(cat)
        session.flush()
        assert cat.id is not None
        cats[key] = cat.id
    items: dict[str, int] = {}
    for code, zh, en, price, resource, desc in ITEMS:
        item = ExamItem(
            code=code,
            name_zh=zh,
            name_en=en,
            description_zh=desc,
            price_fen=price,
            resource_key=resource,
        )
        session.add(item)
        session.flush()
        assert item.id is not None
        items[code] = item.id
    for order, spec in enumerate(PACKAGES):
        fasting_zh = FASTING_ZH if spec.fasting else "本套餐无需空腹。"
        fasting_en = FASTING_EN if spec.fasting else "No fasting needed for this package."
        pkg = HealthPackage(
            code=spec.code,
            category_id=cats[spec.category],
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            summary_zh=spec.summary_zh,
            summary_en=spec.summary_en,
            description_zh=f"{spec.summary_zh}。共 {len(spec.items)} 项检查。",
            description_en=f"{spec.summary_en}. {len(spec.items)} examinations.",
            instructions_zh=" ".join(
                x for x in (fasting_zh, spec.extra_zh, "请携带身份证，穿着宽松衣物。") if x
            ),
            instructions_en=" ".join(
                x
                for x in (fasting_en, spec.extra_en, "Bring your ID card and wear loose clothes.")
                if x
            ),
            fasting_required=spec.fasting,
            target_sex=spec.target_sex,
            min_age=spec.min_age,
            max_age=spec.max_age,
            list_price_fen=spec.list_fen,
            sale_price_fen=spec.sale_fen,
            published=bool(location_ids),
            sort_order=order,
            created_at=now,
            updated_at=now,
        )
        session.add(pkg)
        session.flush()
        assert pkg.id is not None
        for code in spec.items:
            session.add(PackageItem(package_id=pkg.id, item_id=items[code]))
        for code, price in spec.addons:
            session.add(PackageAddOn(package_id=pkg.id, item_id=items[code], price_fen=price))
        for loc in location_ids:
            session.add(PackageLocation(package_id=pkg.id, location_id=loc))
    session.flush()
