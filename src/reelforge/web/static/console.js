// reelforge operator console: draws the KPI dashboard's charts (Chart.js, vendored) from
// /console/kpis/data.json. Each chart's table is on the page too (the charts add nothing the
// tables do not say), and the page works without this file.
"use strict";

(function () {
  const root = document.getElementById("kpi-charts");
  if (!root || typeof Chart === "undefined") return;
  const palette = ["#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6b3fa0", "#00696f", "#5c5f66"];
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.animation = reduced ? false : { duration: 250 };
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1b1f24";

  const col = (t, name) => t.columns.findIndex((c) => c.name === name);
  const title = (t, name) => t.columns[col(t, name)].title;
  // a category's name, in lines of about 14 characters (phones: nothing is cut off)
  const wrap = (text) => {
    const lines = [];
    for (const word of text.split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= 14) lines[last] += " " + word;
      else lines.push(word);
    }
    return lines.length > 1 ? lines : text;
  };
  const label = (t, key) => wrap((t.labels && t.labels[key]) || String(key));
  const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);
  // axis numbers: three significant digits, so tiny costs do not print as 1.0000000E-6
  const short = new Intl.NumberFormat(document.documentElement.lang || "en",
    { maximumSignificantDigits: 3 });
  Chart.defaults.scales.linear.ticks.callback = (v) => short.format(v);
  // money as the tables and `reelforge report` show it (reelforge.domain.money.usd_text):
  // $1,234.56 and -$0.34 to the cent; an amount under a cent, and a unit price (per
  // generation) under $1, keep 4 significant digits ($0.004, $0.0687)
  // halves away from zero on the number as written (its shortest form), as usd_text rounds
  const rounded = (x, places) => {
    const [m, e] = String(x).split("e");
    return Number(Math.round(Number(`${m}e${Number(e || 0) + places}`)) + "e-" + places);
  };
  const usd = (v, unit) => {
    if (v == null || !Number.isFinite(v)) return root.getAttribute("data-na");
    const size = Math.abs(v);
    let text;
    if (size === 0 || rounded(size, 2) >= (unit ? 1 : 0.01)) {
      text = rounded(size, 2).toLocaleString("en-US",
        { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    } else {
      const places = Math.max(2, 3 - Math.floor(Math.log10(size)));
      text = rounded(size, places).toFixed(places).replace(/0+$/, "");
      if ((text.split(".")[1] || "").length < 2) text = rounded(size, 2).toFixed(2);
    }
    return (v < 0 && /[1-9]/.test(text) ? "-" : "") + "$" + text;
  };
  // a column's money format, or null: its kind is usd (amounts) or usd_each (unit prices)
  const moneyOf = (t, name) => {
    const kind = t.columns[col(t, name)].kind;
    return kind === "usd" || kind === "usd_each" ? (v) => usd(v, kind === "usd_each") : null;
  };
  // a money chart's value axis and tooltips in that format (the raw numbers stay in the CSV)
  const moneyOptions = (fmt, axis) => {
    const options = { plugins: { tooltip: { callbacks: { label: (ctx) => {
      const v = ctx.parsed && typeof ctx.parsed === "object" ? ctx.parsed[axis] : ctx.parsed;
      return `${(axis ? ctx.dataset.label : ctx.label) || ""}: ${fmt(v)}`;
    } } } } };
    if (axis) options.scales = { [axis]: { beginAtZero: true, ticks: { callback: (v) => fmt(v) } } };
    return options;
  };

  function bar(t, labelCol, valueCol, opts) {
    const i = col(t, labelCol), j = col(t, valueCol);
    const fmt = moneyOf(t, valueCol);
    const money = fmt ? moneyOptions(fmt, (opts || {}).indexAxis === "y" ? "x" : "y") : {};
    return {
      type: "bar",
      data: {
        labels: t.rows.map((r) => label(t, r[i])),
        datasets: [{ label: title(t, valueCol), data: t.rows.map((r) => r[j]),
          backgroundColor: t.rows.map((_, k) => palette[k % palette.length]) }],
      },
      options: Object.assign({}, money, opts || {},
        { plugins: Object.assign({ legend: { display: false } }, money.plugins) }),
    };
  }

  const builders = {
    funnel: (t) => bar(t, "stage", "accounts", { indexAxis: "y" }),
    margin: (t) => bar(t, "plan", "margin_usd"),
    waste: (t) => bar(t, "cause", "cost_usd"),
    revenue: (t) => {
      const c = bar(t, "source", "revenue_usd");
      c.type = "doughnut";
      const money = moneyOptions(moneyOf(t, "revenue_usd"), null);
      c.options = { plugins: Object.assign({ legend: { position: "bottom" } }, money.plugins) };
      return c;
    },
    shares: (t) => {
      const s = col(t, "segment");
      return {
        type: "bar",
        data: {
          labels: t.rows.map((r) => label(t, r[s])),
          datasets: ["generations_share", "cost_share"].map((name, k) => ({
            label: title(t, name) + " (%)",
            data: t.rows.map((r) => pct(r[col(t, name)])),
            backgroundColor: palette[k],
          })),
        },
        options: { scales: { y: { beginAtZero: true, suggestedMax: 100 } } },
      };
    },
    lines: (t) => {
      const w = col(t, "week"), m = col(t, "model"), v = col(t, "mean_cost_usd");
      const fmt = moneyOf(t, "mean_cost_usd");
      const weeks = [...new Set(t.rows.map((r) => r[w]))].sort();
      const models = [...new Set(t.rows.map((r) => r[m]))].sort();
      return {
        type: "line",
        data: {
          labels: weeks,
          datasets: models.map((model, k) => ({
            label: model,
            data: weeks.map((week) => {
              const row = t.rows.find((r) => r[w] === week && r[m] === model);
              return row ? row[v] : null;
            }),
            borderColor: palette[k % palette.length],
            backgroundColor: palette[k % palette.length],
            spanGaps: true,
          })),
        },
        options: moneyOptions(fmt, "y"),
      };
    },
    heatmap: (t) => {
      const w = col(t, "week");
      const days = ["d1", "d7", "d30"];
      const points = [];
      t.rows.forEach((r, y) => days.forEach((d, x) => {
        const v = r[col(t, d)];
        points.push({ x: x, y: y, v: v });
      }));
      const rows = t.rows.length;
      return {
        type: "scatter",
        data: {
          datasets: [{
            label: t.title,
            data: points,
            pointStyle: "rect",
            pointRadius: (ctx) => {
              const a = ctx.chart.chartArea;
              if (!a) return 6;
              return Math.max(3, Math.min(a.width / 6, a.height / (2 * rows)) - 1);
            },
            backgroundColor: points.map((p) => p.v == null ? "#e3e6ea"
              : `rgba(11, 87, 208, ${0.12 + 0.88 * Math.min(1, p.v * 2)})`),
            borderWidth: 0,
          }],
        },
        options: {
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: (ctx) => {
              const p = ctx.raw;
              return `${t.rows[p.y][w]} ${days[p.x].toUpperCase()}: ` +
                (p.v == null ? root.getAttribute("data-na") : `${pct(p.v)} %`);
            } } },
          },
          scales: {
            x: { type: "linear", min: -0.5, max: 2.5, grid: { display: false },
              afterBuildTicks: (axis) => { axis.ticks = days.map((_, i) => ({ value: i })); },
              ticks: { callback: (v) => (days[v] || "").toUpperCase() } },
            y: { type: "linear", min: -0.5, max: rows - 0.5, reverse: true,
              grid: { display: false },
              afterBuildTicks: (axis) => { axis.ticks = t.rows.map((_, i) => ({ value: i })); },
              ticks: { autoSkip: true, callback: (v) => (t.rows[v] ? t.rows[v][w] : "") } },
          },
        },
        plugins: [{
          id: "cellText",  // each square's share, written on it
          afterDatasetsDraw: (chart) => {
            const ctx = chart.ctx;
            ctx.save();
            ctx.font = "12px " + Chart.defaults.font.family;
            ctx.textAlign = "center";
            ctx.textBaseline = "middle";
            chart.getDatasetMeta(0).data.forEach((el, i) => {
              const v = points[i].v;
              ctx.fillStyle = v != null && v > 0.25 ? "#fff" : "#1b1f24";
              ctx.fillText(v == null ? "–" : `${pct(v)}%`, el.x, el.y);
            });
            ctx.restore();
          },
        }],
      };
    },
  };

  fetch(root.getAttribute("data-src"), { credentials: "same-origin",
    headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
    .then((data) => {
      for (const t of data.tables) {
        const canvas = document.getElementById("chart-" + t.name);
        const build = builders[t.chart];
        if (!canvas || !build) continue;
        if (!t.rows.length) {
          const p = document.createElement("p");
          p.className = "hint";
          p.textContent = root.getAttribute("data-empty");
          canvas.parentElement.replaceWith(p);
          continue;
        }
        new Chart(canvas, build(t));
        canvas.setAttribute("data-drawn", String(t.rows.length));
      }
      root.setAttribute("data-ready", "");
    })
    .catch(() => root.setAttribute("data-failed", ""));
})();
