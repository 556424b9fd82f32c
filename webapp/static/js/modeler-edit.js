/* The in-browser modeler (流程编辑): bpmn-js Modeler with a Chinese palette, the properties panel, 校验 and 保存.
 *
 * Everything it needs comes through data-* attributes of #modeler-edit and JSON endpoints (the CSP allows no
 * inline script): the version's XML, where to validate and save, the panel's lists and checks. Validation posts
 * the diagram (and any edited forms) and shows each problem next to its element (a red or amber badge and
 * outline) and in the list under the diagram; saving makes a new draft version and shows its problems the same
 * way. Downloading and opening a local .bpmn happen in the browser; only a save reaches the server's upload guard.
 */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.getAttribute("content") : "";
  }

  function request(url, body, asForm) {
    var headers = { "X-CSRFToken": csrf(), "Accept": asForm ? "text/html" : "application/json" };
    headers["Content-Type"] = asForm ? "application/x-www-form-urlencoded" : "application/json";
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
      body: asForm ? new URLSearchParams(body).toString() : JSON.stringify(body) });
  }

  function Editor(root) {
    var self = this;
    this.root = root;
    this.file = root.getAttribute("data-file");
    this.dirty = false;
    this.marked = [];
    this.urls = { save: root.getAttribute("data-save-url"), validate: root.getAttribute("data-validate-url"),
      check: root.getAttribute("data-check-url"), preview: root.getAttribute("data-preview-url") };
    var formsNode = document.getElementById("modeler-forms");
    this.page = { urls: this.urls, request: request, forms: JSON.parse(formsNode.textContent || "{}"),
      changedForms: {}, changed: function () { self.setDirty(true); } };
    this.modeler = new window.BpmnJS({
      container: root.querySelector("[data-canvas]"),
      moddleExtensions: { spiffworkflow: window.HotlineSpiff.descriptor },
      additionalModules: [window.HotlineModelerTranslate.module(root.getAttribute("data-lang"))]
    });
    this.panel = new window.HotlinePanel.Panel(root.querySelector("[data-props]"), this.modeler, this.page);
    this.modeler.on("selection.changed", function (e) {
      self.panel.show(e.newSelection.length === 1 ? e.newSelection[0] : null);
    });
    this.modeler.on("commandStack.changed", function (e) {
      if (e.trigger === "clear") { return; } // a freshly opened diagram is not a change
      self.setDirty(true);
      if (!self.panel.writing && self.panel.current) { self.panel.show(self.panel.current); }
    });
    root.querySelector("[data-action='validate']").addEventListener("click", function () { self.validate(); });
    root.querySelector("[data-action='save']").addEventListener("click", function () { self.save(); });
    root.querySelector("[data-action='download']").addEventListener("click", function () { self.download(); });
    root.querySelector("[data-action='open']").addEventListener("change", function (e) { self.open(e.target); });
    root.querySelector("[data-problem-list]").addEventListener("click", function (e) { self.focus(e.target); });
    window.addEventListener("beforeunload", function (e) { if (self.dirty) { e.preventDefault(); } });
  }

  Editor.prototype.word = function (name) { return this.root.getAttribute("data-word-" + name) || ""; };

  Editor.prototype.status = function (text, kind) {
    var node = this.root.querySelector("[data-status]");
    node.textContent = text;
    node.className = "status" + (kind ? " " + kind : "");
  };

  Editor.prototype.setDirty = function (dirty) {
    this.dirty = dirty;
    if (dirty) { this.status(this.word("unsaved"), "muted"); }
  };

  Editor.prototype.load = function () {
    var self = this;
    return fetch(this.root.getAttribute("data-xml-url"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (xml) { return self.modeler.importXML(xml); })
      .then(function (result) {
        window.HotlineSpiff.keepUnresolved(self.modeler, result.warnings);
        self.fit();
        self.modeler.get("commandStack").clear();
        self.dirty = false;
        return self.panel.load({ roles: self.root.getAttribute("data-roles-url"),
          handlers: self.root.getAttribute("data-handlers-url"),
          departments: self.root.getAttribute("data-departments-url") });
      })
      .then(function () { self.root.setAttribute("data-ready", "1"); })
      .catch(function () {
        self.status(self.word("load-error"), "error");
        self.root.setAttribute("data-ready", "error");
      });
  };

  /** Show the whole diagram right of the palette (fit-viewport alone puts pool and lane titles under it). */
  Editor.prototype.fit = function () {
    var canvas = this.modeler.get("canvas"), palette = this.root.querySelector(".djs-palette");
    var box = this.root.querySelector("[data-canvas]").getBoundingClientRect();
    var left = palette ? palette.getBoundingClientRect().right - box.left + 16 : 16, top = 16;
    var view = canvas.viewbox(), inner = view.inner, outer = view.outer;
    if (!inner.width || !inner.height || outer.width <= left + top) { canvas.zoom("fit-viewport"); return; }
    var scale = Math.min(1, (outer.width - left - top) / inner.width, (outer.height - 2 * top) / inner.height);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - top / scale, width: outer.width / scale,
      height: outer.height / scale });
  };

  Editor.prototype.body = function () {
    var self = this;
    return this.modeler.saveXML({ format: true }).then(function (result) {
      return { file: self.file, xml: result.xml, forms: self.page.changedForms };
    });
  };

  Editor.prototype.post = function (url, busy) {
    var self = this;
    this.status(this.word(busy), "muted");
    return this.body().then(function (body) { return request(url, body); })
      .then(function (r) { return r.json(); })
      .catch(function () { self.status(self.word("failed"), "error"); return null; });
  };

  Editor.prototype.validate = function () {
    var self = this;
    return this.post(this.urls.validate, "checking").then(function (data) {
      if (!data) { return; }
      self.status(data.ok ? data.summary : data.message, data.ok && data.can_publish ? "ok" : "error");
      self.showProblems(data);
    });
  };

  Editor.prototype.save = function () {
    var self = this;
    return this.post(this.urls.save, "saving").then(function (data) {
      if (!data) { return; }
      self.showProblems(data);
      self.status(data.message + (data.summary ? "；" + data.summary : ""), data.ok ? "ok" : "error");
      if (!data.ok) { return; }
      Object.keys(self.page.changedForms).forEach(function (k) { self.page.forms[k] = self.page.changedForms[k]; });
      self.page.changedForms = {};
      self.dirty = false;
      self.urls.save = data.save_url;
      self.urls.validate = data.validate_url;
      self.root.setAttribute("data-version", String(data.version));
      self.root.querySelector("[data-version-label]").textContent = self.word("version").replace("{n}", data.version);
      window.history.replaceState(null, "", data.edit_url);
      // the bundle's file chooser opens files of the version just saved, not of the one it was based on
      var chooser = self.root.querySelector(".toolbar form[method='get']");
      if (chooser) { chooser.setAttribute("action", data.edit_url.split("?")[0]); }
    });
  };

  Editor.prototype.clearProblems = function () {
    var canvas = this.modeler.get("canvas");
    this.modeler.get("overlays").remove({ type: "problem" });
    this.marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    this.marked = [];
  };

  /** Show the problems in the list and, for this file's elements, on the diagram. */
  Editor.prototype.showProblems = function (data) {
    var self = this, list = this.root.querySelector("[data-problem-list]");
    var registry = this.modeler.get("elementRegistry"), byElement = {};
    this.clearProblems();
    list.replaceChildren();
    (data.problems || []).forEach(function (p) {
      list.appendChild(self.problemItem(p));
      if (p.element_id && p.file === self.file && registry.get(p.element_id)) {
        (byElement[p.element_id] = byElement[p.element_id] || []).push(p);
      }
    });
    Object.keys(byElement).forEach(function (id) { self.badge(id, byElement[id]); });
    this.root.querySelector("[data-problem-summary]").textContent = data.summary || "";
    this.root.setAttribute("data-problems", String((data.problems || []).length));
  };

  Editor.prototype.problemItem = function (p) {
    var item = document.createElement("li"), head = document.createElement("span");
    item.className = "problem problem-" + p.severity;
    item.setAttribute("data-element", p.element_id || "");
    item.setAttribute("data-code", p.code);
    head.className = "severity";
    head.textContent = p.severity_word;
    item.appendChild(head);
    if (p.element_id) {
      var code = document.createElement("code");
      code.textContent = p.element_id;
      item.appendChild(code);
      item.appendChild(document.createTextNode(" " + (p.element_name || "") + " "));
    }
    var where = document.createElement("span");
    where.className = "muted";
    where.textContent = (p.file || "") + (p.line ? ":" + p.line : "");
    item.appendChild(where);
    var text = document.createElement("div");
    text.textContent = p.message + " — " + p.hint;
    item.appendChild(text);
    return item;
  };

  Editor.prototype.badge = function (id, problems) {
    var error = problems.some(function (p) { return p.severity === "error"; });
    var kind = error ? "problem-error" : "problem-warning";
    var node = document.createElement("div");
    node.className = "problem-badge " + kind;
    node.textContent = String(problems.length);
    node.title = problems.map(function (p) { return p.message; }).join("\n");
    node.setAttribute("data-problem-badge", id);
    this.modeler.get("canvas").addMarker(id, kind);
    this.marked.push([id, kind]);
    this.modeler.get("overlays").add(id, "problem", { position: { top: -10, right: 10 }, html: node });
  };

  Editor.prototype.focus = function (target) {
    var item = target.closest ? target.closest("[data-element]") : null;
    var element = item ? this.modeler.get("elementRegistry").get(item.getAttribute("data-element")) : null;
    if (!element) { return; }
    this.modeler.get("selection").select(element);
    this.modeler.get("canvas").scrollToElement(element);
    // the list is under the diagram: bring the diagram back into view, with the element and its panel
    this.root.querySelector(".edit-layout").scrollIntoView({ block: "start" });
  };

  Editor.prototype.download = function () {
    var self = this;
    return this.modeler.saveXML({ format: true }).then(function (result) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.download = self.root.getAttribute("data-key") + "-v" + self.root.getAttribute("data-version") + "-" + self.file;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  };

  /** Open a local .bpmn in place of the diagram; a file that cannot be shown leaves the diagram as it was. */
  Editor.prototype.open = function (input) {
    var self = this, chosen = input.files && input.files[0], previous = null;
    if (!chosen) { return; }
    this.modeler.saveXML().then(function (kept) { previous = kept.xml; return chosen.text(); })
      .then(function (xml) { return self.modeler.importXML(xml); })
      .then(function (result) {
        window.HotlineSpiff.keepUnresolved(self.modeler, result.warnings);
        self.fit();
        self.clearProblems();
        self.setDirty(true);
        self.status(self.word("opened"), "muted");
      })
      .catch(function (error) {
        // bpmn-js has cleared the canvas: put the diagram back, so a save never stores an empty one
        var why = /no diagram to display/.test(String(error && error.message)) ? "no-di" : "not-bpmn";
        var back = previous ? self.modeler.importXML(previous) : Promise.resolve();
        return back.then(function (result) {
          if (result) { window.HotlineSpiff.keepUnresolved(self.modeler, result.warnings); }
          self.fit();
        }).then(function () { self.status(self.word(why), "error"); });
      })
      .then(function () { input.value = ""; });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("modeler-edit");
    if (!root || !window.BpmnJS) { return; }
    new Editor(root).load();
  });
})();
