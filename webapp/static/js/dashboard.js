// The dashboard's charts (数据看板): data from the JSON block the page carries (strict CSP: no inline script).
// Each point knows its numerator, denominator and the address of the cases behind it: hover shows the formula
// and counts, a click opens the list.
(function () {
  "use strict";
  var COLOURS = ["#2f6fb0", "#d9822b", "#3a9a5b", "#b84a4a", "#7a5bb0", "#4aa3a3", "#a3874a", "#666f80",
                 "#c25f9b", "#5b7a2f"];
  var charts = {};

  function readData() {
    var node = document.getElementById("dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function tooltip(formula) {
    return {
      callbacks: {
        label: function (ctx) {
          var p = ctx.dataset.points[ctx.dataIndex];
          var value = p.rate === null || p.rate === undefined ? "—" : p.rate + "%";
          return ctx.dataset.label + ": " + value + " (" + p.numerator + " / " + p.denominator + ")";
        },
        footer: function (items) {
          var ds = items.length ? items[0].dataset : null;
          return ds && ds.formula ? ds.formula : formula || "";
        }
      }
    };
  }

  function drillOnClick(evt, elements, chart) {
    if (!elements.length) { return; }
    var el = elements[0];
    var p = chart.data.datasets[el.datasetIndex].points[el.index];
    window.location.href = chart.config.options.drillPart === "denominator" ? p.drill_denominator : p.drill_numerator;
  }

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) { return; }
    config.options = Object.assign({responsive: true, maintainAspectRatio: false, onClick: drillOnClick,
                                    interaction: {mode: "nearest", intersect: true}}, config.options || {});
    charts[canvas.dataset.chart] = new window.Chart(canvas, config);
  }

  function rateValues(points) {
    return points.map(function (p) { return p.rate; });
  }

  function draw(data) {
    var m = data.metric;
    make("chart-breakdown", {
      type: "bar",
      data: {labels: data.breakdown.map(function (r) { return r.label; }),
             datasets: [{label: m.name, formula: m.formula, points: data.breakdown,
                         data: rateValues(data.breakdown), backgroundColor: COLOURS[0]}]},
      options: {plugins: {tooltip: tooltip(m.formula), legend: {display: false}},
                scales: {y: {beginAtZero: true, suggestedMax: 100}}}
    });
    make("chart-trend", {
      type: "line",
      data: {labels: data.trend.labels,
             datasets: data.trend.series.map(function (s, i) {
               return {label: s.name, formula: s.formula, points: s.points, data: rateValues(s.points),
                       borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
                       spanGaps: true, tension: 0.2, hidden: i > 3};
             })},
      options: {plugins: {tooltip: tooltip("")}, scales: {y: {beginAtZero: true, suggestedMax: 100}}}
    });
    ["daily", "weekly"].forEach(function (name) {
      var block = data[name];
      make("chart-" + name, {
        type: "bar",
        data: {labels: block.labels,
               datasets: block.series.map(function (s, i) {
                 return {label: s.name, points: s.points,
                         data: s.points.map(function (p) { return p.numerator; }),
                         backgroundColor: COLOURS[i % COLOURS.length]};
               })},
        options: {plugins: {tooltip: {callbacks: {label: function (ctx) {
                    return ctx.dataset.label + ": " + ctx.raw; }}}},
                  scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}}
      });
    });
  }

  function start() {
    var data = readData();
    if (data) { draw(data); }
    window.hotlineDashboard = {charts: charts, data: data};
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
