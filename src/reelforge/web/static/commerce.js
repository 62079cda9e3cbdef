// reelforge studio: keeps a commerce batch's grid (product × aspect) current by polling its
// status.json (which also advances the batch) until the batch is finished. No inline script
// (the CSP forbids it); without this file the page shows the state it was rendered with.
"use strict";

(function () {
  const grid = document.getElementById("batch-grid");
  if (!grid) return;
  const statusText = document.getElementById("batch-status");
  const bar = document.getElementById("batch-progress");
  const counts = document.getElementById("batch-counts");
  const zip = document.getElementById("zip-link");
  const key = (sku, aspect) => sku + "\u0000" + aspect;
  const cells = new Map();
  for (const td of grid.querySelectorAll("td.cell")) cells.set(key(td.dataset.sku, td.dataset.aspect), td);

  function paint(td, cell) {
    if (td.dataset.status === cell.status && td.dataset.job === String(cell.job_id)) return;
    td.dataset.status = cell.status;
    td.dataset.job = String(cell.job_id);
    td.className = "cell " + cell.status;
    td.textContent = "";
    if (cell.status === "succeeded" && cell.job_id) {
      const a = document.createElement("a");
      a.href = "/videos/" + encodeURIComponent(cell.job_id);
      a.textContent = cell.label;
      td.appendChild(a);
    } else {
      td.appendChild(document.createTextNode(cell.label));
    }
    if (cell.error) {
      const span = document.createElement("span");
      span.className = "cell-error";
      span.textContent = cell.error;
      td.appendChild(span);
    }
  }

  function show(view) {
    for (const row of view.products) {
      for (const aspect of view.aspects) {
        const td = cells.get(key(row.sku, aspect));
        if (td && row[aspect]) paint(td, row[aspect]);
      }
    }
    statusText.textContent = view.status_label;
    statusText.dataset.status = view.status;
    grid.dataset.status = view.status;
    const pct = Math.round(view.progress * 1000) / 10;
    bar.value = pct;
    bar.textContent = pct + " %";
    counts.textContent = grid.dataset.countsText
      .replace("{done}", view.counts.succeeded)
      .replace("{total}", view.total)
      .replace("{failed}", view.counts.failed);
    if (zip) zip.hidden = !view.counts.succeeded;
  }

  let delay = 1000;
  async function poll() {
    try {
      const r = await fetch(grid.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (r.ok) {
        const view = await r.json();
        show(view);
        // every second; a large batch less often (each read follows every running clip)
        delay = Math.min(10000, 1000 + view.total * 5);
        if (view.status === "done") return;
      } else {
        delay = Math.min(delay * 2, 15000); // rate-limited or signed out: back off
      }
    } catch (e) {
      delay = Math.min(delay * 2, 15000);
    }
    setTimeout(poll, delay);
  }
  if (grid.dataset.status !== "done") setTimeout(poll, 500);
})();
