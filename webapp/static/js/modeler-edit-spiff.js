/* What this runtime reads from a diagram, as bpmn-js reads and writes it (流程编辑).
 *
 * The project's diagrams carry their runtime settings in the SpiffWorkflow namespace (see bpmn/*):
 *   <spiffworkflow:properties><spiffworkflow:property name="candidate_role" value="handler"/>…  (user tasks)
 *   <spiffworkflow:serviceTaskOperator id="outbox.send" resultVariable="r">
 *     <spiffworkflow:parameters><spiffworkflow:parameter id="channel" type="str" value="'sms'"/>…  (service tasks)
 * `descriptor` teaches bpmn-js's moddle these elements, so they are read, edited and written back exactly;
 * the helpers change them through bpmn-js commands (undo works, the diagram is marked as changed).
 */
(function () {
  "use strict";

  var URI = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var descriptor = {
    name: "SpiffWorkflow", uri: URI, prefix: "spiffworkflow", xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" },
        { name: "parameterList", type: "Parameters" }] },
      { name: "Parameters", properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
        { name: "value", isAttr: true, type: "String" }] }
    ]
  };

  function extensionValues(bo) {
    return (bo.extensionElements && bo.extensionElements.get("values")) || [];
  }

  function extension(bo, type) {
    return extensionValues(bo).filter(function (v) { return v.$type === type; })[0] || null;
  }

  /** Return a spiffworkflow:property value of an element ("" when absent). */
  function property(bo, name) {
    var props = extension(bo, "spiffworkflow:Properties");
    var found = props ? props.get("properties").filter(function (p) { return p.name === name; })[0] : null;
    return found ? found.value || "" : "";
  }

  function Spiff(modeler) {
    this.moddle = modeler.get("moddle");
    this.modeling = modeler.get("modeling");
  }

  /** Put (or remove, when value is empty) one extension element of a type on an element. */
  Spiff.prototype.setExtension = function (element, type, value) {
    var bo = element.businessObject;
    var ext = bo.extensionElements;
    var others = extensionValues(bo).filter(function (v) { return v.$type !== type; });
    var values = value ? others.concat([value]) : others;
    if (!ext) {
      if (!value) { return; }
      ext = this.moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      this.modeling.updateProperties(element, { extensionElements: ext });
    }
    if (value) { value.$parent = ext; }
    this.modeling.updateModdleProperties(element, ext, { values: values });
  };

  /** Set (or remove, when value is empty) one spiffworkflow:property of a user task. */
  Spiff.prototype.setProperty = function (element, name, value) {
    var bo = element.businessObject;
    var props = extension(bo, "spiffworkflow:Properties");
    var kept = props ? props.get("properties").filter(function (p) { return p.name !== name; }) : [];
    if (value) {
      kept.push(this.moddle.create("spiffworkflow:Property", { name: name, value: value }));
    }
    if (!props) {
      if (!value) { return; }
      props = this.moddle.create("spiffworkflow:Properties", { properties: kept });
      this.setExtension(element, "spiffworkflow:Properties", props);
      return;
    }
    this.modeling.updateModdleProperties(element, props, { properties: kept });
    if (!kept.length) { this.setExtension(element, "spiffworkflow:Properties", null); }
  };

  /** Write a service task's handler call: operator id, result variable and parameter expressions. */
  Spiff.prototype.setOperator = function (element, operator, resultVariable, params) {
    var moddle = this.moddle;
    if (!operator) {
      this.setExtension(element, "spiffworkflow:ServiceTaskOperator", null);
      return;
    }
    // a parameter keeps the type it was declared with (int, dict …): the panel edits values, not types
    var before = extension(element.businessObject, "spiffworkflow:ServiceTaskOperator"), types = {};
    (before && before.parameterList ? before.parameterList.get("parameters") : []).forEach(function (p) {
      types[p.id] = p.type;
    });
    var list = Object.keys(params).filter(function (k) { return params[k]; }).map(function (k) {
      return moddle.create("spiffworkflow:Parameter", { id: k, type: types[k] || "str", value: params[k] });
    });
    var attrs = { id: operator };
    if (resultVariable) { attrs.resultVariable = resultVariable; }
    var call = moddle.create("spiffworkflow:ServiceTaskOperator", attrs);
    // the SpiffWorkflow schema wants <spiffworkflow:parameters> even when the handler takes none
    call.parameterList = moddle.create("spiffworkflow:Parameters", { parameters: list });
    this.setExtension(element, "spiffworkflow:ServiceTaskOperator", call);
  };

  /** Return a service task's handler call as {operator, resultVariable, params: {name: expression}}. */
  function operatorOf(bo) {
    var call = extension(bo, "spiffworkflow:ServiceTaskOperator");
    var params = {};
    var list = call && call.parameterList ? call.parameterList.get("parameters") : [];
    list.forEach(function (p) { params[p.id] = p.value || ""; });
    return { operator: call ? call.id || "" : "", resultVariable: call ? call.resultVariable || "" : "",
      params: params };
  }

  /**
   * Put back the references bpmn-js could not resolve on import, so saving writes them as they came.
   *
   * SpiffWorkflow names a multi-instance's collections by variable (<loopDataInputRef>units</loopDataInputRef>),
   * not by the id of a data element; bpmn-js drops such a reference with an "unresolved reference" warning, and
   * the saved diagram would lose it (a published diagram would no longer run). A stand-in element carrying that
   * id is serialized as the same reference. Only single references written as elements are kept this way.
   */
  function keepUnresolved(modeler, warnings) {
    var moddle = modeler.get("moddle");
    (warnings || []).forEach(function (w) {
      var element = w.element, value = w.value;
      if (!element || !element.$descriptor || typeof value !== "string" || !/^unresolved reference/.test(w.message)) {
        return;
      }
      var property = element.$descriptor.propertiesByName[w.property];
      if (!property || property.isMany || property.isAttr || element.get(property.name)) { return; }
      element.set(property.name, moddle.create(property.type, { id: value }));
    });
  }

  window.HotlineSpiff = { descriptor: descriptor, property: property, operatorOf: operatorOf, Spiff: Spiff,
    keepUnresolved: keepUnresolved };
})();
