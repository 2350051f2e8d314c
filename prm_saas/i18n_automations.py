"""Messages of automations (自动化旅程): the services' errors and the pages' labels.

Keys are dotted names; values are (zh-CN, en); merged into
``prm_saas.i18n.MESSAGES`` (a key defined twice is an error at import).
"""

from __future__ import annotations

AUTOMATIONS: dict[str, tuple[str, str]] = {
    # --- the editor's errors ------------------------------------------------------
    "automations.field.trigger_invalid": ("请选择触发条件。", "Choose a trigger."),
    "automations.field.number_invalid": (
        "请输入 {min}–{max} 之间的整数。",
        "Enter a whole number from {min} to {max}.",
    ),
    "automations.field.tag_unknown": ("请选择一个标签。", "Choose a tag."),
    "automations.field.steps_required": ("请至少添加一个步骤。", "Add at least one step."),
    "automations.field.steps_too_many": ("最多 {max} 个步骤。", "At most {max} steps."),
    "automations.field.no_message": (
        "旅程至少需要一个发送消息的步骤。",
        "A journey needs at least one message step.",
    ),
    "automations.field.wait_empty": (
        "等待时间不能为零。",
        "The wait cannot be zero.",
    ),
    "automations.field.channel_invalid": ("请选择发送渠道。", "Choose a channel."),
    "automations.field.branch_empty": (
        "请填写标签表达式或添加条件。",
        "Enter a tag expression or add a condition.",
    ),
    "automations.field.step_invalid": ("未知的步骤类型。", "Unknown kind of step."),
    # --- triggers, steps, statuses ---------------------------------------------------
    "automations.trigger": ("触发", "Trigger"),
    "automations.step": ("步骤", "Step"),
    "automations.trigger.tag_added": ("添加标签时", "When a tag is added"),
    "automations.trigger.patient_joined": ("新客户注册时", "When a patient joins"),
    "automations.trigger.booking_completed": ("完成体检时", "When a checkup is completed"),
    "automations.trigger.days_after_checkup": ("体检后 N 天", "N days after a checkup"),
    "automations.trigger.birthday": ("生日当天", "On the birthday"),
    "automations.trigger.points_expiring": ("积分到期前", "Before points expire"),
    "automations.trigger.no_visit": ("N 天未到访", "No visit for N days"),
    "automations.step.wait": ("等待", "Wait"),
    "automations.step.message": ("发送消息", "Send a message"),
    "automations.step.branch": ("条件分支", "Branch"),
    "automations.when.continue": ("符合则继续，否则退出", "Continue if it matches, else exit"),
    "automations.when.exit": ("符合则退出，否则继续", "Exit if it matches, else continue"),
    # --- pages -------------------------------------------------------------------------
    "automations.title": ("自动化旅程", "Automations"),
    "automations.nav": ("自动化旅程", "Automations"),
    "automations.builtins": ("内置旅程", "Built-in journeys"),
    "automations.builtin.enable": ("启用", "Switch on"),
    "automations.builtin.enabled": ("已启用", "On"),
    "automations.new": ("新建旅程", "New automation"),
    "automations.edit": ("编辑", "Edit"),
    "automations.activate": ("启用", "Switch on"),
    "automations.deactivate": ("停用", "Switch off"),
    "automations.active": ("运行中", "On"),
    "automations.inactive": ("已停用", "Off"),
    "automations.col.name": ("名称", "Name"),
    "automations.col.trigger": ("触发", "Trigger"),
    "automations.col.status": ("状态", "Status"),
    "automations.col.entered": ("进入", "Entered"),
    "automations.col.waiting": ("等待中", "Waiting"),
    "automations.col.completed": ("已完成", "Completed"),
    "automations.col.exited": ("已退出", "Exited"),
    "automations.col.sent": ("已发送", "Sent"),
    "automations.col.step": ("步骤", "Step"),
    "automations.empty": ("还没有自动化旅程。", "No automations yet."),
    "automations.field.name": ("名称", "Name"),
    "automations.field.trigger": ("触发条件", "Trigger"),
    "automations.field.tag": ("标签", "Tag"),
    "automations.field.days": ("天数", "Days"),
    "automations.field.hours": ("小时", "Hours"),
    "automations.field.days_before": ("提前天数", "Days before"),
    "automations.field.channel": ("渠道", "Channel"),
    "automations.field.subject": ("标题", "Subject"),
    "automations.field.body": ("内容", "Message"),
    "automations.field.link": ("链接（可选）", "Link (optional)"),
    "automations.field.expr": ("标签表达式", "Tag expression"),
    "automations.field.when_match": ("分支", "Branch"),
    "automations.field.conditions": (
        "标签规则条件（JSON，可选）",
        "Tag-rule conditions (JSON, optional)",
    ),
    "automations.add_wait": ("+ 等待", "+ Wait"),
    "automations.add_message": ("+ 消息", "+ Message"),
    "automations.add_branch": ("+ 分支", "+ Branch"),
    "automations.move_up": ("上移", "Up"),
    "automations.move_down": ("下移", "Down"),
    "automations.remove": ("删除", "Remove"),
    "automations.save": ("保存", "Save"),
    "automations.saved": ("已保存。", "Saved."),
    "automations.back": ("返回列表", "Back to the list"),
    "automations.steps": ("步骤", "Steps"),
    "automations.stats": ("各步骤统计", "Per step"),
    "automations.version": ("版本 {version}", "Version {version}"),
    "automations.versions_hint": (
        "修改步骤会生成新版本：已在旅程中的客户继续走原来的步骤。",
        "Changing the steps makes a new version: patients already on the journey finish "
        "the steps they started.",
    ),
}
