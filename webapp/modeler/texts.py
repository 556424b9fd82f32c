"""The workbench's messages and labels (Chinese source texts, translated in messages.po)."""

from __future__ import annotations

from webapp.messages import N_

STATUS = {"draft": N_("草稿"), "published": N_("已发布"), "retired": N_("已停用")}
KINDS = {"added": N_("新增"), "removed": N_("删除"), "changed": N_("修改")}
ASPECTS = {
    "type": N_("元素类型"), "name": N_("名称"), "attributes": N_("连线或属性"), "condition": N_("条件"),
    "timer": N_("定时"), "form": N_("表单"), "script": N_("脚本"), "properties": N_("扩展属性"),
    "children": N_("其他内容"),
}
REASONS = {
    "status": N_("实例处于“%(element)s”状态，只有运行中或等待中的实例可以迁移"),
    "not_on_version": N_("实例已不在第 %(element)s 版"),
    "open_missing": N_("当前步骤“%(element)s”在新版本中不存在（按元素编号对应）"),
    "open_type": N_("当前步骤“%(element)s”在新版本中类型不同"),
    "done_missing": N_("已办步骤“%(element)s”在新版本中已删除，实例无法对应"),
    "called_missing": N_("子流程“%(element)s”在新版本中不存在或已改变"),
}
INSTANCE_STATUS = {"running": N_("进行中"), "waiting": N_("等待中"), "error": N_("故障"), "suspended": N_("挂起"),
                   "completed": N_("已完成"), "terminated": N_("已终止")}
# BPMN element types in words (the panel's heading, the diff's list); an unknown type shows its own name
ELEMENT_TYPES = {
    "userTask": N_("用户任务"), "serviceTask": N_("服务任务"), "scriptTask": N_("脚本任务"),
    "task": N_("任务（未指定类型）"), "manualTask": N_("手工任务"), "sendTask": N_("发送任务"),
    "receiveTask": N_("接收任务"), "businessRuleTask": N_("业务规则任务"), "callActivity": N_("调用活动（子流程）"),
    "subProcess": N_("子流程"), "startEvent": N_("开始事件"), "endEvent": N_("结束事件"),
    "intermediateCatchEvent": N_("中间捕获事件"), "intermediateThrowEvent": N_("中间抛出事件"),
    "boundaryEvent": N_("边界事件"),
    "exclusiveGateway": N_("排他网关"), "parallelGateway": N_("并行网关"), "inclusiveGateway": N_("包容网关"),
    "eventBasedGateway": N_("事件网关"), "sequenceFlow": N_("顺序流"), "lane": N_("泳道"),
    "participant": N_("池（参与者）"), "messageFlow": N_("消息流"), "textAnnotation": N_("注释"),
    "dataObjectReference": N_("数据对象"), "dataStoreReference": N_("数据存储"), "group": N_("分组"),
    "association": N_("关联"),
}
PUBLISH_REFUSED = {
    "unknown_publisher": N_("没有此有效账户，不能发布"),
    "disabled": N_("账户已停用，不能发布"),
    "not_allowed": N_("只有系统管理员可以发布流程版本"),
    "same_person": N_("上传此版本的人不能发布它：须由第二人复核发布（四眼原则）"),
    "no_code": N_("请输入动态口令"),
    "not_enrolled": N_("您尚未设置动态口令，请先在“动态口令”页面设置"),
}
HAS_ERRORS = N_("此版本有校验错误，不能发布：请在流程编辑中修正后保存为新草稿")
CODE_REFUSED = N_("动态口令错误或已使用过，或账户已被锁定")
PUBLISHED = N_("第 %(version)s 版已发布，新登记的工单将使用此版本")
ALREADY_PUBLISHED = N_("第 %(version)s 版本来就是已发布版本")
UPLOADED = N_("已保存为第 %(version)s 版（草稿），须由第二人发布后生效")
UNCHANGED = N_("内容与第 %(version)s 版相同，未新建版本")
UPLOADED_WITH_ERRORS = N_("已保存为第 %(version)s 版（草稿），但引擎还无法运行它："
                          "请在下方图上逐条修正错误后保存为新版本")
UPLOAD_REFUSED = N_("上传被拒绝：%(problem)s")
NO_FILE = N_("请选择一个 .bpmn 文件")
NO_DIAGRAM = N_("上传的文件里没有流程图：至少要有一个 .bpmn 文件")
TOO_MANY_FILES = N_("一次最多上传 %(count)s 个文件")
BAD_FILE_TYPE = N_("不能上传 %(name)s：只接受流程图（.bpmn、.xml）、决策表（.dmn）和表单定义（.json）")
BAD_FILE_NAME = N_("文件名 %(name)s 不可用：只能用字母、数字、下划线、点和短横线")
SAME_NAME = N_("上传的流程图中有同名文件")
FORM_NOT_UTF8 = N_("表单定义 %(name)s 不是 UTF-8 文本")
TOO_BIG = N_("文件超过 %(mb)s MB，不能上传")
BAD_ENCODING = N_("不能上传：%(problem)s。%(hint)s")
CHOOSE_PROCESS = N_("请在下面选择要运行的主流程。浏览器不能保留已选的文件：请重新选择文件后上传")
BAD_KEY = N_("流程标识只能用小写字母、数字和下划线，以字母开头，最多 64 个字符")
RETIRED = N_("第 %(version)s 版已停用：不再用于新工单，在办的工单按原版本办完")
REASON_REQUIRED = N_("请填写原因（最多 500 字）")
RETIRE_REFUSED = N_("不能停用：%(problem)s")
RETIRE_PUBLISHED_ONLY_ADMIN = N_("只有系统管理员可以停用已发布的版本")
ALREADY_RETIRED = N_("此版本已停用")
BAD_VERSION = N_("版本号不正确")
BAD_PAIR = N_("迁移的目标版本须比原版本新，并且是已发布的版本")
NO_INSTANCES = N_("请至少选择一个实例")
NOTHING_TO_MIGRATE = N_("没有可迁移的实例：只有比已发布版本旧、且还有在办实例的版本才需要迁移")
