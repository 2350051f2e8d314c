"""Messages of the health-check mall: catalog admin and the patient mall.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).

The ``booking.not_offered`` / eligibility keys live here because the mall
decides them (``prm_saas.mall.pricing``); booking only shows them.
"""

from __future__ import annotations

MALL: dict[str, tuple[str, str]] = {
    # --- eligibility and pricing (returned to booking and orders) ---
    "booking.not_offered": (
        "该套餐在所选门店不可预约，请选择其他门店。",
        "This package cannot be booked at the chosen location. Choose another location.",
    ),
    "booking.wrong_sex": (
        "该套餐不适用于您的性别。",
        "This package is not meant for your sex.",
    ),
    "booking.sex_required": (
        "该套餐区分性别，请先在个人资料中填写性别。",
        "This package is for one sex only: add your sex to your profile first.",
    ),
    "booking.too_young": (
        "按体检当日的年龄，您未达到该套餐的最低年龄。",
        "On the day of the exam you are below this package's minimum age.",
    ),
    "booking.too_old": (
        "按体检当日的年龄，您超过了该套餐的最高年龄。",
        "On the day of the exam you are above this package's maximum age.",
    ),
    "booking.birth_date_required": (
        "该套餐有年龄要求，请先在个人资料中填写出生日期。",
        "This package has an age range: add your date of birth to your profile first.",
    ),
    "mall.package_unavailable": (
        "该套餐已下架，暂不可预约。",
        "This package is no longer available.",
    ),
    "mall.addon_unavailable": (
        "所选加项不属于该套餐或已停用，请重新选择。",
        "A chosen add-on is not offered with this package any more. Choose again.",
    ),
    # --- catalog admin ---
    "mall.price_invalid": (
        "请输入以元为单位的金额，最多两位小数，例如 1299.00。",
        "Enter an amount in yuan with at most two decimals, e.g. 1299.00.",
    ),
    "mall.sale_above_list": (
        "售价不能高于原价。",
        "The sale price cannot be above the list price.",
    ),
    "mall.age_invalid": (
        "年龄应为 {min} 到 {max} 之间的整数。",
        "Ages are whole numbers from {min} to {max}.",
    ),
    "mall.age_range": (
        "最大年龄不能小于最小年龄。",
        "The maximum age cannot be below the minimum age.",
    ),
    "mall.number_invalid": (
        "请输入 {min} 到 {max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "mall.code_invalid": (
        "编码只能包含字母、数字、点、下划线和连字符，最多 30 位。",
        "Codes use letters, digits, dots, underscores and hyphens, at most 30.",
    ),
    "mall.code_taken": ("该编码已被使用。", "This code is already in use."),
    "mall.resource_key_invalid": (
        "资源标识应为小写字母开头的短标识（字母、数字、_、-），例如 ct、gastroscopy。",
        "Resource keys are short lower-case names (letters, digits, _ and -), e.g. ct, gastroscopy.",
    ),
    "mall.choice_unknown": (
        "所选内容不存在，请刷新后重试。",
        "Something chosen does not exist. Reload the page and try again.",
    ),
    "mall.too_many": ("最多选择 {max} 项。", "Choose at most {max}."),
    "mall.addon_in_package": (
        "「{name}」已包含在套餐中，不能再作为加项。",
        "“{name}” is already included in the package, so it cannot be an add-on too.",
    ),
    "mall.publish_needs_items": (
        "上架的套餐至少需要包含一个启用的检查项目。",
        "A published package needs at least one active exam item.",
    ),
    "mall.publish_needs_locations": (
        "上架的套餐至少需要在一个启用的门店提供。",
        "A published package must be offered at one active location at least.",
    ),
    "mall.item_last_in_published": (
        "该项目是已上架套餐（{packages}）中唯一的项目，请先下架套餐或为其添加其他项目。",
        "This is the only item of published package(s) {packages}: unpublish them or add other items first.",
    ),
    # --- patient mall (labels) ---
    "nav.mall": ("体检商城", "Checkups"),
    "nav.catalog": ("套餐管理", "Catalog"),
    "mall.title": ("体检套餐", "Health-check packages"),
    "mall.search_placeholder": (
        "搜索套餐或项目，如：胃镜、入职",
        "Search packages or exams, e.g. CT",
    ),
    "mall.filters": ("筛选", "Filters"),
    "mall.all": ("全部", "All"),
    "mall.empty": ("没有符合条件的套餐。", "No package matches."),
    "mall.clear_filters": ("清除筛选", "Clear filters"),
    "mall.filter_sex": ("适用性别", "For"),
    "mall.filter_age": ("年龄", "Age"),
    "mall.filter_price": ("价格", "Price"),
    "mall.filter_location": ("门店", "Location"),
    "mall.sex_any": ("不限", "Anyone"),
    "mall.sex_male": ("男性", "Men"),
    "mall.sex_female": ("女性", "Women"),
    "mall.age_placeholder": ("如 35", "e.g. 35"),
    "mall.price_any": ("不限", "Any price"),
    "mall.location_any": ("全部门店", "All locations"),
    "mall.items_unit": ("项", " exams"),
    "mall.years": ("岁", " yrs"),
    "mall.save": ("立省", "Save"),
    "mall.for_women": ("女性适用", "For women"),
    "mall.for_men": ("男性适用", "For men"),
    "mall.for_anyone": ("男女通用", "For anyone"),
    "mall.ages": ("年龄", "Ages"),
    "mall.fasting": ("需空腹", "Fasting"),
    "mall.included": ("检查项目", "What is included"),
    "mall.addons": ("可选加项", "Optional add-ons"),
    "mall.addons_hint": ("预约时可选择加项。", "Choose add-ons when you book."),
    "mall.instructions": ("体检须知", "Before your checkup"),
    "mall.description": ("套餐介绍", "About this package"),
    "mall.locations": ("可预约门店", "Where"),
    "mall.from_price": ("套餐价", "Price"),
    "mall.book": ("预约", "Book"),
    "mall.back": ("返回商城", "Back to the mall"),
    # --- catalog admin page (labels) ---
    "catalog.title": ("套餐管理", "Catalog"),
    "catalog.tab_packages": ("体检套餐", "Packages"),
    "catalog.tab_items": ("检查项目", "Exam items"),
    "catalog.tab_categories": ("分类", "Categories"),
    "catalog.packages_hint": (
        "套餐需包含至少一个项目并在至少一个门店提供，才能上架。",
        "A package needs an item and a location before it can be published.",
    ),
    "catalog.active": ("启用", "Active"),
    "catalog.inactive": ("停用", "Inactive"),
    "catalog.edit": ("编辑", "Edit"),
    "catalog.code": ("编码", "Code"),
    "catalog.name": ("名称", "Name"),
    "catalog.name_zh": ("中文名称", "Name (Chinese)"),
    "catalog.name_en": ("英文名称", "Name (English)"),
    "catalog.category": ("分类", "Category"),
    "catalog.no_category": ("（无分类）", "(no category)"),
    "catalog.price": ("售价 / 原价", "Sale / list price"),
    "catalog.list_price": ("原价（元）", "List price (yuan)"),
    "catalog.sale_price": ("售价（元）", "Sale price (yuan)"),
    "catalog.counts": ("项目 / 加项 / 门店", "Items / add-ons / locations"),
    "catalog.published": ("上架", "Published"),
    "catalog.published_saved": ("上架状态已更新。", "Publishing updated."),
    "catalog.target_sex": ("适用性别", "For"),
    "catalog.min_age": ("最小年龄", "Min. age"),
    "catalog.max_age": ("最大年龄", "Max. age"),
    "catalog.sort_order": ("排序", "Sort order"),
    "catalog.image_url": ("图片地址", "Image URL"),
    "catalog.summary_zh": ("简介（中文）", "Summary (Chinese)"),
    "catalog.summary_en": ("简介（英文）", "Summary (English)"),
    "catalog.description_zh": ("详细介绍（中文）", "Description (Chinese)"),
    "catalog.description_en": ("详细介绍（英文）", "Description (English)"),
    "catalog.instructions_zh": ("体检须知（中文）", "Instructions (Chinese)"),
    "catalog.instructions_en": ("体检须知（英文）", "Instructions (English)"),
    "catalog.fasting_required": ("需要空腹", "Fasting required"),
    "catalog.items_and_addons": ("检查项目与加项", "Exam items and add-ons"),
    "catalog.items_hint": (
        "勾选左侧为套餐包含的项目；勾选“加项”并填写加项价格（元）供患者预约时选择。",
        "Tick the items included; tick “add-on” and give its price (yuan) for patients to add.",
    ),
    "catalog.as_addon": ("加项", "add-on"),
    "catalog.locations": ("提供门店", "Offered at"),
    "catalog.no_locations": (
        "还没有门店，请先在排班管理中添加门店。",
        "No locations yet: add one under schedules first.",
    ),
    "catalog.new_package": ("新建套餐", "New package"),
    "catalog.edit_package": ("编辑套餐", "Edit package"),
    "catalog.new_item": ("新建项目", "New item"),
    "catalog.item_title": ("检查项目", "Exam item"),
    "catalog.item_price": ("单价（元）", "Price (yuan)"),
    "catalog.resource_key": ("稀缺资源标识", "Scarce resource"),
    "catalog.resource_key_hint": (
        "需要占用稀缺设备时填写，如 ct、gastroscopy；与门店资源的标识一致。",
        "For items that use a scarce resource, e.g. ct, gastroscopy (the location's resource key).",
    ),
    "catalog.new_category": ("新建分类", "New category"),
    "catalog.category_title": ("套餐分类", "Category"),
    "catalog.package_count": ("套餐数", "Packages"),
    "mall.for_me": ("适合我", "For me"),
}
