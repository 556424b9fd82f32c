/* Chinese palette, context pad and replace menu of the bpmn-js modeler (流程编辑), through bpmn-js translation.
 *
 * bpmn-js passes every text of its palette, context pad and popup menus through a `translate(template,
 * replacements)` service; modeler-edit.js registers `HotlineModelerTranslate.module(lang)` as that service
 * (`additionalModules: [{translate: ['value', fn]}]`). Chinese pages get this table, English pages bpmn-js's own
 * English. Words follow the office's (工单, 派单 …) and the BPMN terms used in the validation messages.
 */
(function () {
  "use strict";

  var ZH = {
    // palette (diagram-js and bpmn-js)
    "Activate hand tool": "抓手工具（拖动画布）",
    "Activate lasso tool": "套索工具（框选元素）",
    "Activate create/remove space tool": "插入或删除空白",
    "Activate global connect tool": "连线工具",
    "Create start event": "新建开始事件",
    "Create intermediate/boundary event": "新建中间事件或边界事件",
    "Create end event": "新建结束事件",
    "Create gateway": "新建网关",
    "Create task": "新建任务",
    "Create expanded sub-process": "新建展开的子流程",
    "Create data object reference": "新建数据对象",
    "Create data store reference": "新建数据存储",
    "Create pool/participant": "新建池（参与者）",
    "Create group": "新建分组",
    // context pad
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间事件",
    "Append timer intermediate catch event": "追加定时中间事件",
    "Append message intermediate catch event": "追加消息中间事件",
    "Append signal intermediate catch event": "追加信号中间事件",
    "Append conditional intermediate catch event": "追加条件中间事件",
    "Append receive task": "追加接收任务",
    "Append compensation activity": "追加补偿活动",
    "Add text annotation": "添加注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "分成两条泳道",
    "Divide into three lanes": "分成三条泳道",
    "Change element": "更改类型",
    "Change type": "更改类型",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Delete": "删除",
    "Align elements": "对齐",
    "Distribute elements horizontally": "水平等距分布",
    "Distribute elements vertically": "垂直等距分布",
    "Search in diagram": "在图中搜索",
    "Open {element}": "打开 {element}",
    // replace menu: tasks and activities
    "Task": "任务（未指定类型）",
    "User task": "用户任务（人工办理）",
    "Service task": "服务任务（调用处理程序）",
    "Script task": "脚本任务",
    "Send task": "发送任务",
    "Receive task": "接收任务",
    "Manual task": "手工任务",
    "Business rule task": "业务规则任务",
    "Call activity": "调用活动（子流程）",
    "Sub-process (collapsed)": "子流程（折叠）",
    "Sub-process (expanded)": "子流程（展开）",
    "Ad-hoc sub-process (collapsed)": "自由子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开）",
    "Event sub-process": "事件子流程",
    "Transaction": "事务子流程",
    "Loop": "循环",
    "Parallel multi-instance": "并行多实例",
    "Sequential multi-instance": "顺序多实例",
    "Collection": "集合",
    "Participant multiplicity": "参与者多重性",
    "Toggle non-interrupting": "切换为不中断",
    // replace menu: gateways
    "Exclusive gateway": "排他网关",
    "Parallel gateway": "并行网关",
    "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关",
    "Event-based gateway": "事件网关",
    // replace menu: events
    "Start event": "开始事件",
    "End event": "结束事件",
    "Intermediate throw event": "中间抛出事件",
    "Boundary event": "边界事件",
    "Timer start event": "定时开始事件",
    "Timer start event (non-interrupting)": "定时开始事件（不中断）",
    "Timer intermediate catch event": "定时中间事件",
    "Timer boundary event": "定时边界事件",
    "Timer boundary event (non-interrupting)": "定时边界事件（不中断）",
    "Message start event": "消息开始事件",
    "Message start event (non-interrupting)": "消息开始事件（不中断）",
    "Message intermediate catch event": "消息中间捕获事件",
    "Message intermediate throw event": "消息中间抛出事件",
    "Message end event": "消息结束事件",
    "Message boundary event": "消息边界事件",
    "Message boundary event (non-interrupting)": "消息边界事件（不中断）",
    "Signal start event": "信号开始事件",
    "Signal start event (non-interrupting)": "信号开始事件（不中断）",
    "Signal intermediate catch event": "信号中间捕获事件",
    "Signal intermediate throw event": "信号中间抛出事件",
    "Signal end event": "信号结束事件",
    "Signal boundary event": "信号边界事件",
    "Signal boundary event (non-interrupting)": "信号边界事件（不中断）",
    "Conditional start event": "条件开始事件",
    "Conditional start event (non-interrupting)": "条件开始事件（不中断）",
    "Conditional intermediate catch event": "条件中间事件",
    "Conditional boundary event": "条件边界事件",
    "Conditional boundary event (non-interrupting)": "条件边界事件（不中断）",
    "Escalation start event": "升级开始事件",
    "Escalation start event (non-interrupting)": "升级开始事件（不中断）",
    "Escalation intermediate throw event": "升级中间抛出事件",
    "Escalation end event": "升级结束事件",
    "Escalation boundary event": "升级边界事件",
    "Escalation boundary event (non-interrupting)": "升级边界事件（不中断）",
    "Error start event": "错误开始事件",
    "Error end event": "错误结束事件",
    "Error boundary event": "错误边界事件",
    "Compensation start event": "补偿开始事件",
    "Compensation intermediate throw event": "补偿中间抛出事件",
    "Compensation end event": "补偿结束事件",
    "Compensation boundary event": "补偿边界事件",
    "Cancel end event": "取消结束事件",
    "Cancel boundary event": "取消边界事件",
    "Terminate end event": "终止结束事件",
    "Link intermediate catch event": "链接中间捕获事件",
    "Link intermediate throw event": "链接中间抛出事件",
    // replace menu: data, pools, flows
    "Data object reference": "数据对象",
    "Data store reference": "数据存储",
    "Expanded pool/participant": "展开的池",
    "Empty pool/participant": "空池",
    "Sequence flow": "顺序流",
    "Default flow": "默认流",
    "Conditional flow": "条件流",
    // errors the modeler itself shows
    "flow elements must be children of pools/participants": "流程元素必须放在池（参与者）里",
    "out of bounds release": "不能放在这里",
    "more than {count} child lanes": "子泳道超过 {count} 条",
    "element required": "需要一个元素",
    "no parent for {element} in {parent}": "{parent} 里没有 {element} 的上级元素",
    "no shape type specified": "没有指定形状类型",
    "no diagram to display": "没有可显示的流程图",
    "no process or collaboration to display": "没有可显示的流程或协作",
    "element {element} referenced by {referenced}#{property} not yet drawn": "{referenced}#{property} 引用的元素 {element} 尚未画出",
    "unknown di {di} for element {semantic}": "元素 {semantic} 的图形信息 {di} 无法识别",
    "missing {semantic}#attachedToRef": "{semantic} 缺少 attachedToRef"
  };

  function fill(template, replacements) {
    return template.replace(/{([^}]+)}/g, function (whole, key) {
      return replacements && replacements[key] !== undefined ? String(replacements[key]) : whole;
    });
  }

  /** The `translate` service for a page language ("zh-CN" or "en"): Chinese from the table, else English. */
  function translator(lang) {
    var table = String(lang || "").indexOf("zh") === 0 ? ZH : {};
    return function translate(template, replacements) {
      return fill(Object.prototype.hasOwnProperty.call(table, template) ? table[template] : template,
        replacements || {});
    };
  }

  window.HotlineModelerTranslate = {
    table: ZH,
    translator: translator,
    module: function (lang) { return { translate: ["value", translator(lang)] }; }
  };
})();
