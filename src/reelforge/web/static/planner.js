// reelforge operator console: draws the capacity planner's charts (Chart.js, vendored) from
// the report in #planner-charts' data-report attribute. Every chart's table is on the page
// too (the charts add nothing the tables do not say), and the page works without this file.
"use strict";

(function () {
  const root = document.getElementById("planner-charts");
  if (!root || typeof Chart === "undefined") return;
  const data = JSON.parse(root.dataset.report);
  const palette = ["#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6b3fa0", "#00696f", "#5c5f66"];
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.animation = reduced ? false : { duration: 250 };
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1b1f24";
  const short = new Intl.NumberFormat(root.dataset.lang || "en", { maximumSignificantDigits: 3 });
  Chart.defaults.scales.linear.ticks.callback = (v) => short.format(v);
  const t = data.text;
  const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);
  const plans = Object.keys(data.plans);

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ responsive: true }, config.options || {});
    config.options.animation = false; // drawn at once: the page is read, not watched
    new Chart(canvas, config);
    canvas.dataset.drawn = "1";
  }

  const hours = data.utilisation.map((r) => r.hour);
  draw("chart-utilisation", {
    type: "line",
    data: {
      labels: hours,
      datasets: [
        { label: t.utilisation, data: data.utilisation.map((r) => pct(r.utilisation)),
          borderColor: palette[0], backgroundColor: palette[0], yAxisID: "y", pointRadius: 0,
          borderWidth: 2 },
        { label: t.devices, data: data.utilisation.map((r) => r.devices),
          borderColor: palette[2], backgroundColor: palette[2], yAxisID: "y1", pointRadius: 0,
          borderWidth: 2, stepped: true },
      ],
    },
    options: {
      scales: {
        x: { title: { display: true, text: t.hour }, ticks: { maxTicksLimit: 8 } },
        y: { beginAtZero: true, max: 100, title: { display: true, text: t.utilisation } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
          title: { display: true, text: t.devices } },
      },
    },
  });

  draw("chart-wait", {
    type: "bar",
    data: {
      labels: plans,
      datasets: [
        { label: t.p50, data: plans.map((p) => data.plans[p].wait_p50_s), backgroundColor: palette[0] },
        { label: t.p95, data: plans.map((p) => data.plans[p].wait_p95_s), backgroundColor: palette[1] },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });

  const byPlan = {};
  for (const row of data.waits) (byPlan[row.plan] = byPlan[row.plan] || []).push({ x: row.hour, y: row.wait_p95_s });
  draw("chart-wait-time", {
    type: "line",
    data: {
      datasets: Object.keys(byPlan).map((plan, k) => ({
        label: plan, data: byPlan[plan], borderColor: palette[k % palette.length],
        backgroundColor: palette[k % palette.length], pointRadius: 0, borderWidth: 2,
      })),
    },
    options: {
      parsing: true,
      scales: {
        x: { type: "linear", title: { display: true, text: t.hour } },
        y: { beginAtZero: true, title: { display: true, text: t.p95 } },
      },
    },
  });

  draw("chart-margin", {
    type: "bar",
    data: {
      labels: plans,
      datasets: [
        { label: t.margin, data: plans.map((p) => pct(data.plans[p].margin)), backgroundColor: palette[2] },
        { label: t.fleet_margin, data: plans.map((p) => pct(data.plans[p].fleet_margin)), backgroundColor: palette[3] },
      ],
    },
    options: { scales: { y: { title: { display: true, text: "%" } } } },
  });
  root.dataset.ready = "1";
})();
