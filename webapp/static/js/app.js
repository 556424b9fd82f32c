/* Hotline Flow page script, loaded by every page (the CSP allows no inline script).
 *
 * - Every htmx request carries the CSRF token (header X-CSRFToken, read from <meta name="csrf-token">).
 * - Polling requests (hx-trigger "every …", or any element inside [data-background-refresh]) carry
 *   X-Background-Refresh: 1, so a page left open does not keep its session alive (webapp/auth/guard.py).
 * - window.Hotline.headers() gives the same headers to page scripts that call fetch() (e.g. diagram saves).
 * - A form with data-confirm="…" asks that question before it is sent (actions hard to take back); Cancel
 *   sends nothing.
 * - A schema form's field with data-when='[{"reply_action": "extend"}]' belongs to those choices
 *   (webapp/schemaforms/branches.py): while none is made it is hidden and its controls disabled, so it is
 *   neither sent nor checked. Without this script every field shows and the server keeps the chosen branch.
 */
(function () {
  "use strict";

  var CSRF_HEADER = "X-CSRFToken";
  var BACKGROUND_HEADER = "X-Background-Refresh";
  var POLLING = /(^|,)\s*every\s/;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function isPolling(detail) {
    var elt = detail.elt;
    if (!elt || !elt.closest) {
      return false;
    }
    if (elt.closest("[data-background-refresh]")) {
      return true;
    }
    // htmx fires a poll without an event; a click on an element that also polls has one.
    return !detail.triggeringEvent && POLLING.test(elt.getAttribute("hx-trigger") || "");
  }

  function headers(extra) {
    var result = {};
    result[CSRF_HEADER] = csrfToken();
    for (var key in extra || {}) {
      if (Object.prototype.hasOwnProperty.call(extra, key)) {
        result[key] = extra[key];
      }
    }
    return result;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    detail.headers[CSRF_HEADER] = csrfToken();
    if (isPolling(detail)) {
      detail.headers[BACKGROUND_HEADER] = "1";
    }
  });

  // Capture phase, so a cancelled form never reaches htmx or the browser's own submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function chosen(values, condition) {
    return Object.keys(condition).every(function (name) {
      return values.getAll(name).indexOf(condition[name]) >= 0;
    });
  }

  function showBranches(form) {
    var fields = form.querySelectorAll(".field[data-when]");
    // A field hidden here may be the choice another branch hangs on: repeat until nothing changes.
    for (var round = 0; round <= fields.length; round += 1) {
      var values = new FormData(form);  // disabled controls are left out, as they are when sent
      var changed = false;
      fields.forEach(function (field) {
        var shown = JSON.parse(field.getAttribute("data-when")).some(function (c) { return chosen(values, c); });
        if (field.hidden === !shown) {
          return;
        }
        changed = true;
        field.hidden = !shown;
        field.querySelectorAll("input, select, textarea").forEach(function (control) { control.disabled = !shown; });
      });
      if (!changed) {
        return;
      }
    }
  }

  function watchBranches() {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector(".field[data-when]")) {
        showBranches(form);
        form.addEventListener("change", function () { showBranches(form); });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watchBranches);
  } else {
    watchBranches();
  }

  window.Hotline = { csrfToken: csrfToken, headers: headers };
})();
