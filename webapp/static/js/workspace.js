/* Workspace pages (待办, 办理, 工单详情); the CSP allows no inline script, so behaviour lives here.
 *
 * - Countdowns (.countdown[data-remaining]) tick down every 30 s from the seconds the server computed, so the
 *   browser's own clock does not matter; colours follow the same thresholds as the server (2 h red, 24 h yellow,
 *   or the case's warning light), words come from the nearest [data-countdown-words].
 * - Inside [data-swap-errors], htmx also swaps 4xx answers (a lost race, a refused reveal, a missing reason), so
 *   the Chinese message the server sent is shown where the action was.
 */
(function () {
  "use strict";

  var TICK_MS = 30000;
  var RED = 2 * 3600;
  var YELLOW = 24 * 3600;
  var DEFAULT_WORDS = { left: "剩余 %(time)s", over: "超期 %(time)s", day: "天", hour: "小时", minute: "分" };

  function words(el) {
    var holder = el.closest("[data-countdown-words]");
    if (!holder) {
      return DEFAULT_WORDS;
    }
    try {
      return JSON.parse(holder.getAttribute("data-countdown-words"));
    } catch (e) {
      return DEFAULT_WORDS;
    }
  }

  function duration(seconds, w) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (days) {
      return days + w.day + hours + w.hour;
    }
    if (hours) {
      return hours + w.hour + minutes + w.minute;
    }
    return minutes + w.minute;
  }

  function tick(el, now) {
    if (!el.hasAttribute("data-seen")) {
      el.setAttribute("data-seen", String(now));
    }
    var elapsed = Math.floor((now - Number(el.getAttribute("data-seen"))) / 1000);
    var left = Number(el.getAttribute("data-remaining")) - elapsed;
    var level = el.getAttribute("data-warning") || "none";
    var w = words(el);
    el.textContent = (left >= 0 ? w.left : w.over).replace("%(time)s", duration(Math.abs(left), w).trim());
    el.classList.toggle("overdue", left < 0);
    el.classList.toggle("red", left >= 0 && (left <= RED || level === "red"));
    el.classList.toggle("yellow", left >= 0 && left > RED && level !== "red" && (left <= YELLOW || level === "yellow"));
  }

  function tickAll() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-remaining]").forEach(function (el) {
      tick(el, now);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".countdown[data-remaining]").forEach(function (el) {
      el.setAttribute("data-seen", String(Date.now()));
    });
    window.setInterval(tickAll, TICK_MS);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (status >= 400 && status < 500 && detail.target && detail.target.closest("[data-swap-errors]")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
})();
