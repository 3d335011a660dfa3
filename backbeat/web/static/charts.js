/*! Backbeat report charts: every <canvas data-chart="ID"> is drawn with Chart.js from the
 *  JSON in <script type="application/json" id="ID">:
 *    { labels: [...], currency: "USD",
 *      y: { unit: "count"|"percent"|"money", title }, y2: null | { unit, title },
 *      datasets: [{ label, data: [number|string|null], kind, axis: "y"|"y2", fill }] }
 *  kind: "line", "bar", "band-low" + "band-high" (a shaded range: the high edge fills to the
 *  dataset before it), or "ref" (a dashed flat reference line). Numbers may come as decimal
 *  strings ("1.5000", "48.000000"). After drawing, the canvas carries data-points (how many
 *  x positions it drew) and data-drawn="true". Without Chart.js the page keeps its sentences
 *  and tables, which hold every figure.
 */
(function () {
  "use strict";

  var COLORS = ["#5b2bd6", "#17794a", "#b3261e", "#9a5b00", "#1f6fb2", "#7a3e9d"];
  var BAND = "rgba(91, 43, 214, 0.16)";
  var REF = "#5c5f6a";
  var REF_BAND = "rgba(23, 121, 74, 0.10)";

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    var n = Number(value);
    return isFinite(n) ? n : null;
  }

  function formatter(axis, currency) {
    var unit = axis && axis.unit;
    if (unit === "percent") {
      return function (v) { return (Math.round(v * 10000) / 10000).toLocaleString(undefined, { maximumFractionDigits: 4 }) + "%"; };
    }
    if (unit === "money") {
      var money;
      try {
        money = new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" });
      } catch (e) {
        money = null;
      }
      return function (v) { return money ? money.format(v) : v.toFixed(2) + " " + currency; };
    }
    return function (v) { return Math.round(v).toLocaleString(); };
  }

  function dataset(spec, colour) {
    var kind = spec.kind || "line";
    var out = {
      label: spec.label,
      data: (spec.data || []).map(num),
      yAxisID: spec.axis === "y2" ? "y2" : "y",
      type: kind === "bar" ? "bar" : "line",
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 2,
      pointRadius: 2,
      spanGaps: false,
      fill: spec.fill || false
    };
    if (kind === "band-low" || kind === "band-high") {
      out.borderColor = "rgba(91, 43, 214, 0.35)";
      out.backgroundColor = BAND;
      out.borderWidth = 1;
      out.pointRadius = 0;
    } else if (kind === "ref") {
      out.borderColor = REF;
      out.backgroundColor = REF_BAND;
      out.borderDash = [6, 4];
      out.borderWidth = 1.5;
      out.pointRadius = 0;
    } else if (kind === "bar") {
      out.backgroundColor = "rgba(91, 43, 214, 0.55)";
      out.borderWidth = 0;
    }
    return out;
  }

  function axis(spec, currency, position, grid) {
    var format = formatter(spec, currency);
    return {
      position: position,
      beginAtZero: true,
      grid: { drawOnChartArea: grid },
      title: { display: !!(spec && spec.title), text: (spec && spec.title) || "" },
      ticks: { callback: function (v) { return format(v); } }
    };
  }

  function config(spec) {
    var line = 0;
    var datasets = (spec.datasets || []).map(function (d) {
      var colour = COLORS[line % COLORS.length];
      if (d.kind === "line" || d.kind === "bar") line += 1;
      return dataset(d, colour);
    });
    var scales = { y: axis(spec.y || { unit: "count" }, spec.currency, "left", true) };
    if (spec.y2) scales.y2 = axis(spec.y2, spec.currency, "right", false);
    var formats = { y: formatter(spec.y, spec.currency), y2: formatter(spec.y2, spec.currency) };
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      type: "line",
      data: { labels: spec.labels || [], datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: still ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var value = ctx.parsed.y;
                if (value === null || value === undefined) return ctx.dataset.label + ": no data";
                return ctx.dataset.label + ": " + formats[ctx.dataset.yAxisID](value);
              }
            }
          }
        }
      }
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) return;
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    if (!window.Chart) {
      canvas.setAttribute("data-drawn", "false");
      return;
    }
    // eslint-disable-next-line no-new
    new window.Chart(canvas, config(spec));
    canvas.setAttribute("data-points", String((spec.labels || []).length));
    canvas.setAttribute("data-drawn", "true");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
