/* Diagram pages (流程图, 热力图): draw a process with the bpmn-js navigated viewer and mark it up.
 *
 * The page holds its data as JSON in <script type="application/json"> (the CSP allows no inline script): a list of
 * views, each with the URL of its BPMN XML and either an instance's state (elements → completed / token / active /
 * timer / error, taken flows, badges) or a heat map (elements → open, overdue, level). Call activities lead to the
 * views they started (calls: element id → view keys). The list beside the diagram switches views too.
 */
(function () {
  "use strict";

  const READABLE = 0.85;  // the smallest scale at which element names can be read

  function make(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  function start(root) {
    const canvasEl = root.querySelector("[data-diagram-canvas]");
    const dataEl = document.getElementById(root.dataset.state);
    if (!canvasEl || !dataEl || !window.BpmnJS) return;
    const data = JSON.parse(dataEl.textContent);
    const views = new Map(data.views.map(function (v) { return [v.key, v]; }));
    const xmlCache = new Map();
    const viewer = new window.BpmnJS({ container: canvasEl });
    const title = root.querySelector("[data-diagram-title]");
    const up = root.querySelector("[data-diagram-up]");
    const fit = root.querySelector("[data-diagram-fit]");
    const failed = root.querySelector("[data-diagram-failed]");
    let current = null;

    function xml(url) {
      if (xmlCache.has(url)) return Promise.resolve(xmlCache.get(url));
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error("diagram " + response.status);
        return response.text();
      }).then(function (text) { xmlCache.set(url, text); return text; });
    }

    function exists(id) { return Boolean(viewer.get("elementRegistry").get(id)); }

    function badge(id, className, text, tooltip, position) {
      if (!exists(id)) return;
      const el = make("div", "diagram-badge " + className, text);
      if (tooltip) el.title = tooltip;
      viewer.get("overlays").add(id, "diagram", { position: position || { top: -14, right: 20 }, html: el });
    }

    function markInstance(view) {
      const canvas = viewer.get("canvas");
      Object.entries(view.elements || {}).forEach(function (entry) {
        if (exists(entry[0])) canvas.addMarker(entry[0], "diagram-" + entry[1]);
        if (entry[1] === "token") badge(entry[0], "token", data.labels.token, null, { bottom: -6, left: -6 });
      });
      (view.flows || []).forEach(function (id) { if (exists(id)) canvas.addMarker(id, "diagram-taken"); });
      (view.badges || []).forEach(function (b) {
        badge(b.element, b.kind + " " + (b.css || ""), (b.kind === "timer" ? "⏰ " : "⚠ ") + b.text, b.title,
          b.kind === "timer" ? { bottom: 4, left: 24 } : null);
      });
    }

    function markHeat(view) {
      const canvas = viewer.get("canvas");
      Object.entries(view.heat || {}).forEach(function (entry) {
        const id = entry[0], h = entry[1];
        if (!exists(id)) return;
        canvas.addMarker(id, "heat-" + h.level);
        const el = make("div", "heat-badge");
        el.title = h.title;
        el.appendChild(make("span", "heat-count", h.open));
        if (h.overdue) el.appendChild(make("span", "heat-late", h.overdue));
        if (h.mean) el.appendChild(make("span", "heat-mean", h.mean));
        viewer.get("overlays").add(id, "diagram", { position: { top: -14, left: -6 }, html: el });
      });
    }

    function markCalls(view) {
      Object.keys(view.calls || {}).forEach(function (id) {
        if (exists(id)) viewer.get("canvas").addMarker(id, "diagram-callable");
      });
    }

    function chooser(id, keys) {
      viewer.get("overlays").remove({ type: "chooser" });
      const box = make("div", "diagram-chooser");
      keys.forEach(function (key) {
        const button = make("button", "secondary", (views.get(key) || { label: key }).label);
        button.type = "button";
        button.addEventListener("click", function () { show(key); });
        box.appendChild(button);
      });
      viewer.get("overlays").add(id, "chooser", { position: { bottom: -8, left: 0 }, html: box });
    }

    function focusOf(view) {
      if (data.mode === "heatmap") {
        const hot = Object.entries(view.heat || {}).filter(function (e) { return exists(e[0]) && e[1].open; });
        hot.sort(function (a, b) { return b[1].open - a[1].open; });
        return hot.length ? hot[0][0] : null;
      }
      const states = view.elements || {};
      const ids = Object.keys(states).filter(exists);
      return ids.find(function (id) { return states[id] === "error"; }) ||
        ids.find(function (id) { return states[id] === "token"; }) || null;
    }

    // A whole process fitted into the canvas is too small to read: zoom to a readable scale around the element
    // that matters (the failing one, the current step, the busiest), still inside the diagram's own width.
    function place(view) {
      const canvas = viewer.get("canvas");
      canvas.zoom("fit-viewport", "auto");
      const id = focusOf(view);
      if (!id || canvas.zoom() >= READABLE) return;
      const el = viewer.get("elementRegistry").get(id);
      const outer = canvas.viewbox().outer;
      const width = outer.width / READABLE, height = outer.height / READABLE;
      canvas.viewbox({ x: el.x + el.width / 2 - width / 2, y: el.y + el.height / 2 - height / 2,
        width: width, height: height });
    }

    function show(key) {
      const view = views.get(key) || data.views[0];
      if (!view || !view.diagram) return Promise.resolve();
      return xml(view.diagram).then(function (text) {
        return viewer.importXML(text);
      }).then(function () {
        current = view;
        place(view);
        if (data.mode === "heatmap") markHeat(view); else markInstance(view);
        markCalls(view);
        if (title) title.textContent = view.label;
        if (up) up.hidden = !view.parent;
        root.querySelectorAll("[data-view]").forEach(function (a) {
          a.classList.toggle("active", a.dataset.view === view.key);
        });
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", "#view-" + view.key);
        }
        root.dataset.shown = view.key;  // the browser tests wait for this
      }).catch(function () {
        if (failed) failed.hidden = false;
      });
    }

    viewer.on("element.click", function (event) {
      const keys = current && current.calls ? current.calls[event.element.id] : null;
      if (!keys || !keys.length) return;
      const live = keys.filter(function (k) { return views.has(k); });
      if (live.length === 1) show(live[0]);
      else if (live.length > 1) chooser(event.element.id, live);
    });
    root.querySelectorAll("[data-view]").forEach(function (a) {
      a.addEventListener("click", function (event) {
        event.preventDefault();
        show(a.dataset.view);
      });
    });
    if (up) up.addEventListener("click", function () { if (current && current.parent) show(current.parent); });
    if (fit) fit.addEventListener("click", function () { viewer.get("canvas").zoom("fit-viewport", "auto"); });

    if (!data.views.length) {
      if (failed) failed.hidden = false;
      return;
    }
    const wanted = (window.location.hash || "").replace(/^#view-/, "");
    show(views.has(wanted) ? wanted : data.views[0].key);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-diagram]").forEach(start);
  });
})();
