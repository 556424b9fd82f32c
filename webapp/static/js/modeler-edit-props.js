/* The modeler's properties panel (属性面板) for what this runtime needs, in plain JS (no bundler, no inline script).
 *
 * The panel's markup and words are server-rendered (templates/modeler/_edit_props.html, translated like every
 * page); this file shows the section of the selected element and writes each field back into the diagram the way
 * the runtime reads it (modeler-edit-spiff.js). Lists come from the server: roles from the role table, handlers
 * from the handler registry, units from the reference tables. Conditions and timer values are checked by the
 * server's sandbox rules as they are typed; a form schema is drawn by the server's form pipeline.
 */
(function () {
  "use strict";

  var HUMAN = ["bpmn:UserTask", "bpmn:ManualTask", "bpmn:Task"];
  var BRANCHING = ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"];
  var TIMER_TAGS = { duration: "timeDuration", date: "timeDate", cycle: "timeCycle" };
  var LOOKS_ISO = /^(R\d*\/|P(\d|T\d)|\d{4}-\d{2}-\d{2}T)/i;
  var SLA_VALUE = /^([A-Za-z_][A-Za-z0-9_]*)\[['"](due|warn_at|notice_at)['"]\]$/;
  var SLA_FIELDS = [["due", "data-word-due"], ["warn_at", "data-word-warn"], ["notice_at", "data-word-notice"]];
  var NEW_FORM = { title: "", type: "object", properties: {}, required: [] };

  function option(value, label) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    return node;
  }

  function timerOf(bo) {
    var def = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (!def) { return null; }
    var kind = Object.keys(TIMER_TAGS).filter(function (k) { return def.get(TIMER_TAGS[k]); })[0] || "duration";
    var expr = def.get(TIMER_TAGS[kind]);
    return { def: def, kind: kind, value: expr ? expr.body || "" : "" };
  }

  function Panel(root, modeler, page) {
    this.root = root;
    this.modeler = modeler;
    this.page = page; // {request(url, body, asForm), forms, changedForms}
    this.spiff = new window.HotlineSpiff.Spiff(modeler);
    this.handlers = {};
    this.current = null;
    this.writing = false;
    this.previewTimer = null;
    root.addEventListener("change", this.onChange.bind(this));
    this.field("form_json").addEventListener("input", this.onFormText.bind(this));
  }

  Panel.prototype.field = function (name) { return this.root.querySelector("[data-field='" + name + "']"); };
  Panel.prototype.section = function (name) { return this.root.querySelector("[data-section='" + name + "']"); };
  Panel.prototype.bind = function (name, text) { this.root.querySelector("[data-bind='" + name + "']").textContent = text; };

  /** Fill the lists from the server's registries. */
  Panel.prototype.load = function (urls) {
    var self = this;
    function get(url) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; });
    }
    return Promise.all([get(urls.roles), get(urls.handlers), get(urls.departments)]).then(function (lists) {
      lists[0].forEach(function (r) { self.field("candidate_role").appendChild(option(r.code, r.name + " (" + r.code + ")")); });
      lists[1].forEach(function (h) {
        self.handlers[h.id] = h;
        self.field("operator").appendChild(option(h.id, h.title + " (" + h.id + ")"));
      });
      lists[2].forEach(function (d) { self.field("candidate_department").appendChild(option(d.code, d.name + " (" + d.code + ")")); });
      self.root.setAttribute("data-ready", "1");
    });
  };

  /** Run a diagram change from the panel (the change events it causes do not redraw the panel). */
  Panel.prototype.write = function (change) {
    this.writing = true;
    try { change(); } finally { this.writing = false; }
  };

  Panel.prototype.show = function (element) {
    var self = this;
    if (element && element.type === "label") { element = element.labelTarget || null; } // a flow's or event's name
    this.current = element;
    this.root.querySelectorAll("[data-section]").forEach(function (s) { s.hidden = true; });
    this.root.querySelector("[data-props-empty]").hidden = !!element;
    if (!element || !element.businessObject) { return; }
    var bo = element.businessObject;
    if (bo.$type === "bpmn:Process") { this.showProcess(bo); return; } // the canvas of a diagram without pools
    if (bo.$type === "bpmn:Collaboration") { this.current = null; return; }
    this.section("general").hidden = false;
    this.bind("id", bo.id);
    var local = bo.$type.replace("bpmn:", ""), types = JSON.parse(this.root.getAttribute("data-types") || "{}");
    local = local.charAt(0).toLowerCase() + local.slice(1);
    this.bind("type", types[local] || local); // the type in words, as the diff and the replace menu name it
    this.field("name").value = bo.name || "";
    if (HUMAN.indexOf(bo.$type) >= 0) { self.showHuman(bo); }
    if (bo.$type === "bpmn:ServiceTask") { self.showService(bo); }
    if (bo.$type === "bpmn:Lane") { self.showLane(bo); }
    if (bo.$type === "bpmn:Participant" && bo.processRef) { self.showProcess(bo.processRef); }
    if (bo.$type === "bpmn:CallActivity") {
      this.section("call").hidden = false;
      this.field("called_element").value = bo.calledElement || "";
    }
    if (timerOf(bo)) { self.showTimer(bo); }
    if (bo.$type === "bpmn:SequenceFlow" && bo.sourceRef && BRANCHING.indexOf(bo.sourceRef.$type) >= 0) {
      self.showFlow(bo);
    }
  };

  /** A process (the canvas, or a pool's): whether this system runs it (isExecutable; absent counts as yes). */
  Panel.prototype.showProcess = function (process) {
    this.section("process").hidden = false;
    this.bind("process_id", process.id);
    this.field("is_executable").checked = process.isExecutable !== false;
  };

  Panel.prototype.ensureOption = function (select, value) {
    if (value && !Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.appendChild(option(value, value));
    }
    select.value = value;
  };

  Panel.prototype.showHuman = function (bo) {
    var P = window.HotlineSpiff.property;
    this.section("user").hidden = false;
    this.ensureOption(this.field("candidate_role"), P(bo, "candidate_role"));
    var lane = bo.get("lanes") && bo.get("lanes")[0];
    var words = this.root.querySelector("[data-bind='lane']");
    words.textContent = lane ? words.getAttribute("data-word-lane").replace("{lane}", lane.name || lane.id)
      : words.getAttribute("data-word-no-lane");
    var variable = P(bo, "department_variable"), fixed = P(bo, "candidate_department");
    var mode = variable ? "variable" : (fixed ? "fixed" : "none");
    this.root.querySelector("[data-field='dep_mode'][value='" + mode + "']").checked = true;
    this.field("department_variable").value = variable;
    this.ensureOption(this.field("candidate_department"), fixed);
    this.fillForms(P(bo, "formJsonSchemaFilename"));
  };

  /** Say whom a lane gives its tasks to: the runtime reads a lane's name as a role code (candidate_role wins). */
  Panel.prototype.showLane = function (bo) {
    var words = this.root.querySelector("[data-bind='lane_role']"), name = (bo.name || "").trim();
    var role = Array.prototype.filter.call(this.field("candidate_role").options, function (o) {
      return o.value && o.value === name;
    })[0];
    this.section("lane").hidden = false;
    words.textContent = role ? words.getAttribute("data-word-role").replace("{role}", role.textContent)
      : words.getAttribute("data-word-no-role");
  };

  Panel.prototype.formNames = function () {
    var names = Object.keys(this.page.forms).concat(Object.keys(this.page.changedForms));
    return names.filter(function (n, i) { return names.indexOf(n) === i; }).sort()
      .map(function (n) { return n.replace(/^forms\//, ""); });
  };

  Panel.prototype.fillForms = function (chosen) {
    var select = this.field("form");
    Array.prototype.slice.call(select.options, 2).forEach(function (o) { o.remove(); });
    this.formNames().forEach(function (n) { select.appendChild(option(n, n)); });
    this.ensureOption(select, chosen);
    this.root.querySelector("[data-new-form]").hidden = true;
    this.showFormText(chosen);
  };

  Panel.prototype.showFormText = function (name) {
    var editor = this.root.querySelector("[data-form-editor]");
    editor.hidden = !name;
    var path = "forms/" + name;
    var text = this.page.changedForms[path] !== undefined ? this.page.changedForms[path] : this.page.forms[path];
    this.field("form_json").value = text || "";
    this.preview();
  };

  Panel.prototype.onFormText = function () {
    var name = this.field("form").value;
    if (!name || name === "*new") { return; }
    this.page.changedForms["forms/" + name] = this.field("form_json").value;
    this.page.changed();
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(this.preview.bind(this), 400);
  };

  /** Draw the form as the operator will see it (server-side, the task page's own pipeline). */
  Panel.prototype.preview = function () {
    var box = this.root.querySelector("[data-form-preview]");
    var name = this.field("form").value;
    if (!name || name === "*new" || !this.field("form_json").value.trim()) { box.replaceChildren(); return; }
    this.page.request(this.page.urls.preview, { schema: this.field("form_json").value, name: "forms/" + name }, true)
      .then(function (r) { return r.text(); })
      .then(function (html) { box.innerHTML = html; }) // server-rendered and escaped by Jinja
      .catch(function () { box.replaceChildren(); });
  };

  Panel.prototype.showService = function (bo) {
    var call = window.HotlineSpiff.operatorOf(bo);
    this.section("service").hidden = false;
    this.ensureOption(this.field("operator"), call.operator);
    this.field("result_variable").value = call.resultVariable;
    this.drawParams(call.operator, call.params);
  };

  Panel.prototype.drawParams = function (operator, values) {
    var box = this.root.querySelector("[data-params]");
    var handler = this.handlers[operator];
    this.bind("handler_doc", handler ? handler.label + (handler.doc ? " — " + handler.doc : "") : "");
    var pattern = box.getAttribute("data-word-param") || "{name} ({doc})";
    var names = (handler ? handler.params.map(function (p) { return p.name; }) : []);
    Object.keys(values).forEach(function (n) { if (names.indexOf(n) < 0) { names.push(n); } });
    box.replaceChildren();
    names.forEach(function (name) {
      var doc = handler ? (handler.params.filter(function (p) { return p.name === name; })[0] || {}).doc : "";
      var label = document.createElement("label");
      label.textContent = doc ? pattern.replace("{name}", name).replace("{doc}", doc) : name;
      var input = document.createElement("input");
      input.setAttribute("data-param", name);
      input.value = values[name] || "";
      label.appendChild(input);
      box.appendChild(label);
    });
  };

  Panel.prototype.writeService = function () {
    var params = {};
    this.root.querySelectorAll("[data-param]").forEach(function (i) { params[i.getAttribute("data-param")] = i.value.trim(); });
    var element = this.current, spiff = this.spiff;
    var operator = this.field("operator").value, result = this.field("result_variable").value.trim();
    this.write(function () { spiff.setOperator(element, operator, result, params); });
  };

  window.HotlinePanel = { Panel: Panel, timerOf: timerOf, TIMER_TAGS: TIMER_TAGS, LOOKS_ISO: LOOKS_ISO,
    SLA_VALUE: SLA_VALUE, SLA_FIELDS: SLA_FIELDS, NEW_FORM: NEW_FORM, option: option };
})();
