/* Read-only BPMN diagrams of the workbench (流程设计), with the marks of a version diff.
 *
 * Every element with data-bpmn-viewer gets a bpmn-js NavigatedViewer; its XML comes from data-xml-url (same origin,
 * the CSP allows no inline script). On the diff page, data-mark names which kinds of the JSON in #diff-data to mark
 * ("added changed" on the new version, "removed" on the old one) for the file in data-file; the CSS colours them.
 */
(function () {
  "use strict";

  function diffData() {
    var node = document.getElementById("diff-data");
    return node ? JSON.parse(node.textContent || "{}") : null;
  }

  function mark(viewer, container, data) {
    var kinds = (container.getAttribute("data-mark") || "").split(/\s+/).filter(Boolean);
    var file = container.getAttribute("data-file");
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    kinds.forEach(function (kind) {
      (data[kind] || []).forEach(function (change) {
        if (change.file === file && registry.get(change.id)) {
          canvas.addMarker(change.id, "diff-" + kind);
        }
      });
    });
  }

  function show(container, data) {
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-xml-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        if (data) {
          mark(viewer, container, data);
        }
        container.setAttribute("data-ready", "1");
      })
      .catch(function () {
        var message = document.createElement("p");
        message.className = "error";
        message.textContent = container.getAttribute("data-error") || "";
        container.replaceChildren(message);
        container.setAttribute("data-ready", "error");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.BpmnJS) {
      return;
    }
    var data = diffData();
    document.querySelectorAll("[data-bpmn-viewer]").forEach(function (container) {
      show(container, data);
    });
  });
})();
