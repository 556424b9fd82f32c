/* The properties panel's writes (属性面板): user-task routing and form, service calls, timers, branch conditions.
 *
 * Each change event of a panel field writes one setting through bpmn-js commands, so undo works and the diagram
 * counts as changed. Timers are written as the runtime reads them: timeDuration / timeDate / timeCycle holding a
 * literal ISO 8601 value (P3D, R6/P1D), an SLA result of an earlier 计算时限 step (handle_deadline['due']) or an
 * expression; the server checks each value with the validation's own rule and says what is wrong.
 */
(function () {
  "use strict";

  var H = window.HotlinePanel;
  var Panel = H.Panel;

  Panel.prototype.onChange = function (event) {
    var target = event.target;
    var name = target.getAttribute("data-field") || (target.hasAttribute("data-param") ? "param" : "");
    if (!this.current || !name) { return; }
    var element = this.current, modeling = this.modeler.get("modeling"), spiff = this.spiff;
    var value = typeof target.value === "string" ? target.value.trim() : "";
    if (name === "name") {
      this.write(function () { modeling.updateLabel(element, value); });
      if (element.businessObject.$type === "bpmn:Lane") { this.showLane(element.businessObject); } // role or not
    } else if (name === "candidate_role") {
      this.write(function () { spiff.setProperty(element, "candidate_role", value); });
    } else if (["dep_mode", "department_variable", "candidate_department"].indexOf(name) >= 0) {
      this.writeDepartment();
    } else if (name === "form") {
      this.chooseForm(value);
    } else if (name === "new_form") {
      this.newForm(value);
    } else if (name === "operator") {
      this.drawParams(value, window.HotlineSpiff.operatorOf(element.businessObject).params);
      this.writeService();
    } else if (name === "result_variable" || name === "param") {
      this.writeService();
    } else if (name.indexOf("timer_") === 0) {
      this.writeTimer(name);
    } else if (name === "called_element") {
      this.write(function () { modeling.updateProperties(element, { calledElement: value || undefined }); });
    } else if (name === "is_executable") {
      var bo = element.businessObject, process = bo.$type === "bpmn:Participant" ? bo.processRef : bo;
      var executable = target.checked;
      this.write(function () { modeling.updateModdleProperties(element, process, { isExecutable: executable }); });
    } else if (name === "condition" || name === "is_default") {
      this.writeFlow(name);
    }
    this.page.changed();
  };

  Panel.prototype.writeDepartment = function () {
    var element = this.current, spiff = this.spiff;
    var mode = (this.root.querySelector("[data-field='dep_mode']:checked") || {}).value || "none";
    var variable = mode === "variable" ? this.field("department_variable").value.trim() : "";
    var fixed = mode === "fixed" ? this.field("candidate_department").value : "";
    this.write(function () {
      spiff.setProperty(element, "department_variable", variable);
      spiff.setProperty(element, "candidate_department", fixed);
    });
  };

  Panel.prototype.chooseForm = function (value) {
    var element = this.current, spiff = this.spiff;
    this.root.querySelector("[data-new-form]").hidden = value !== "*new";
    if (value === "*new") { this.root.querySelector("[data-form-editor]").hidden = true; return; }
    this.write(function () { spiff.setProperty(element, "formJsonSchemaFilename", value); });
    this.showFormText(value);
  };

  Panel.prototype.newForm = function (value) {
    if (!/^[A-Za-z0-9_]{1,60}$/.test(value)) { return; }
    var name = value + ".schema.json";
    if (this.page.forms["forms/" + name] === undefined && this.page.changedForms["forms/" + name] === undefined) {
      this.page.changedForms["forms/" + name] = JSON.stringify(H.NEW_FORM, null, 2);
    }
    var element = this.current, spiff = this.spiff;
    this.write(function () { spiff.setProperty(element, "formJsonSchemaFilename", name); });
    this.fillForms(name);
    this.root.querySelector("[data-form-editor]").open = true;
  };

  /** The 计算时限 steps of the diagram whose results a timer can wait for, as (expression, label) pairs. */
  Panel.prototype.slaChoices = function () {
    var select = this.field("timer_sla"), found = [];
    this.modeler.get("elementRegistry").filter(function (e) {
      return e.businessObject && e.businessObject.$type === "bpmn:ServiceTask";
    }).forEach(function (e) {
      var call = window.HotlineSpiff.operatorOf(e.businessObject);
      if (call.operator.indexOf("deadline.") !== 0 || !call.resultVariable) { return; }
      H.SLA_FIELDS.forEach(function (f) {
        found.push([call.resultVariable + "['" + f[0] + "']",
          (e.businessObject.name || e.id) + " · " + select.getAttribute(f[1]) + " (" + call.resultVariable + ")"]);
      });
    });
    return found;
  };

  Panel.prototype.showTimer = function (bo) {
    var timer = H.timerOf(bo), select = this.field("timer_sla");
    var choices = this.slaChoices();
    this.section("timer").hidden = false;
    select.replaceChildren();
    if (!choices.length) { select.appendChild(H.option("", select.getAttribute("data-word-none"))); }
    choices.forEach(function (c) { select.appendChild(H.option(c[0], c[1])); });
    var sla = choices.some(function (c) { return c[0] === timer.value.replace(/"/g, "'"); });
    var mode = sla ? "sla" : (!timer.value || H.LOOKS_ISO.test(timer.value) ? "literal" : "expression");
    this.root.querySelector("[data-field='timer_mode'][value='" + mode + "']").checked = true;
    this.field("timer_kind").value = timer.kind;
    this.field("timer_value").value = timer.value;
    if (sla) { select.value = timer.value.replace(/"/g, "'"); }
    this.timerControls(mode);
    this.showCheck("timer", null);
  };

  Panel.prototype.timerControls = function (mode) {
    this.field("timer_value").hidden = mode === "sla";
    this.field("timer_sla").hidden = mode !== "sla";
    this.field("timer_value").placeholder = mode === "literal" ? "P3D" : "sla_deadline['due']";
  };

  Panel.prototype.writeTimer = function (changed) {
    var mode = (this.root.querySelector("[data-field='timer_mode']:checked") || {}).value || "literal";
    if (mode === "sla") { this.field("timer_kind").value = "date"; } // 计算时限 gives a date-time
    this.timerControls(mode);
    var kind = this.field("timer_kind").value;
    var value = mode === "sla" ? this.field("timer_sla").value : this.field("timer_value").value.trim();
    if (mode === "sla" && changed === "timer_mode" && !value) { return; }
    var element = this.current, moddle = this.modeler.get("moddle"), modeling = this.modeler.get("modeling");
    var def = H.timerOf(element.businessObject).def;
    var attrs = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    if (value) { attrs[H.TIMER_TAGS[kind]] = moddle.create("bpmn:FormalExpression", { body: value }); }
    this.write(function () { modeling.updateModdleProperties(element, def, attrs); });
    this.check("timer", kind, value);
  };

  Panel.prototype.showFlow = function (bo) {
    this.section("flow").hidden = false;
    this.field("condition").value = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    this.field("is_default").checked = bo.sourceRef.default === bo;
    this.showCheck("condition", null);
  };

  Panel.prototype.writeFlow = function (changed) {
    var element = this.current, moddle = this.modeler.get("moddle"), modeling = this.modeler.get("modeling");
    var value = this.field("condition").value.trim(), isDefault = this.field("is_default").checked;
    var gateway = this.modeler.get("elementRegistry").get(element.businessObject.sourceRef.id);
    this.write(function () {
      if (changed === "is_default") {
        modeling.updateProperties(gateway, { "default": isDefault ? element.businessObject : null });
      } else {
        modeling.updateProperties(element, { conditionExpression: value
          ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined });
      }
    });
    if (changed === "condition") { this.check("condition", "condition", value); }
  };

  /** Ask the server whether a condition or timer value is usable, and say so under the field. */
  Panel.prototype.check = function (where, kind, value) {
    var self = this;
    if (!value) { this.showCheck(where, null); return; }
    this.page.request(this.page.urls.check, { kind: kind, expression: value })
      .then(function (r) { return r.json(); })
      .then(function (answer) { self.showCheck(where, answer); })
      .catch(function () { self.showCheck(where, null); });
  };

  Panel.prototype.showCheck = function (where, answer) {
    var box = this.root.querySelector("[data-check='" + where + "']");
    box.className = "check" + (answer ? (answer.ok ? " ok" : " error") : "");
    box.textContent = answer ? answer.message + (answer.hint ? " — " + answer.hint : "") : "";
  };
})();
