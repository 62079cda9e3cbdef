// reelforge studio: image previews and drag and drop, the live credit quote, and live progress
// from the job's event stream. The form and the pages work without it.
"use strict";

(() => {
  const form = document.getElementById("create-form");
  if (form) setUpForm(form);
  const progress = document.getElementById("progress");
  if (progress && progress.dataset.events) follow(progress);

  function setUpForm(form) {
    for (const zone of form.querySelectorAll("[data-drop]")) {
      const input = zone.querySelector("input[type=file]");
      const preview = document.getElementById(input.id + "-preview");
      const tooLarge = document.getElementById(input.id + "-size-error");
      const show = () => {
        const file = input.files && input.files[0];
        // the server refuses it anyway; saying so now saves sending it
        const over = Boolean(file && file.size > Number(input.dataset.maxBytes));
        tooLarge.hidden = !over;
        input.setCustomValidity(over ? tooLarge.textContent : "");
        if (preview.src) URL.revokeObjectURL(preview.src);
        if (file && file.type.startsWith("image/")) {
          preview.src = URL.createObjectURL(file);
          preview.hidden = false;
        } else {
          preview.removeAttribute("src");
          preview.hidden = true;
        }
      };
      input.addEventListener("change", show);
      zone.addEventListener("dragover", (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      });
      zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        zone.classList.remove("dragging");
        const files = event.dataTransfer && event.dataTransfer.files;
        if (!files || !files.length) return;
        const one = new DataTransfer();
        one.items.add(files[0]);
        input.files = one.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    // The live quote: the form's fields (not its files) priced by the server.
    const quote = document.getElementById("quote");
    let timer = 0;
    let asked = 0;
    const ask = () => {
      const data = new FormData(form);
      const body = new URLSearchParams();
      for (const [name, value] of data.entries()) {
        if (value instanceof File) {
          if (value.size || value.name) body.append("has_" + name, "1");
        } else {
          body.append(name, value);
        }
      }
      const mine = ++asked;
      fetch(form.dataset.quote, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": body.get("csrf_token") || "" },
      }).then((r) => r.text()).then((html) => {
        if (mine === asked) {  // an older answer never replaces a newer one
          quote.innerHTML = html;
          quote.dataset.updated = String(mine);
        }
      }, () => {});
    };
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    };
    form.addEventListener("submit", (event) => {
      const bad = form.querySelector("input[type=file]:invalid");
      if (bad) {
        event.preventDefault();
        bad.focus();
      }
    });
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  function follow(box) {
    const bar = document.getElementById("progress-bar");
    const percent = document.getElementById("percent");
    const stage = document.getElementById("stage");
    const step = document.getElementById("step");
    const statusText = document.getElementById("status-text");
    const labels = {};
    for (const dd of document.querySelectorAll("#stage-labels dd")) {
      labels[dd.dataset.key] = dd.textContent;
    }
    const setStage = (name) => {
      box.dataset.stage = name;
      stage.textContent = labels[name] || name;
    };
    const setStatus = (name) => {
      box.dataset.status = name;
      statusText.textContent = labels["status:" + name] || name;
    };
    const setPercent = (value) => {
      const n = Math.max(0, Math.min(100, Math.floor(value)));
      bar.value = n;
      bar.textContent = String(n);
      percent.textContent = n + " %";
    };
    const finish = () => {
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
      refresh();
    };
    const refresh = () => {
      // the page as it is now: its result (player, reason, actions) and request (credits)
      fetch(box.dataset.page, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        for (const id of ["result", "request"]) {
          const now = document.getElementById(id);
          const next = fresh.getElementById(id);
          if (now && next) now.replaceWith(document.adoptNode(next));
        }
        const result = document.getElementById("result");
        if (window.htmx && result) window.htmx.process(result);  // the provenance check loads
      }, () => {});
    };
    const stream = new EventSource(box.dataset.events);
    const on = (type, handle) => stream.addEventListener(type, (event) => {
      handle(JSON.parse(event.data));
      box.dataset.seq = event.lastEventId;
    });
    on("submitted", (e) => setStatus(e.status || "queued"));
    on("admitted", () => setStatus("queued"));
    on("started", () => { setStatus("running"); setStage("started"); });
    on("requeued", () => { setStatus("queued"); setStage("queued"); });
    on("progress", (e) => {
      setStatus("running");
      setStage(e.stage);
      setPercent(100 * (e.progress || 0));
      step.textContent = e.total > 1 ? e.done + " / " + e.total : "";
    });
    on("review_requested", () => { setStatus("review"); refresh(); });
    on("approved", () => { setStatus("queued"); refresh(); });
    on("cancel_requested", () => setStage("cancelling"));
    for (const type of ["succeeded", "failed", "cancelled", "blocked"]) {
      on(type, () => {
        stream.close();
        setStatus(type);
        if (type === "succeeded") {
          setPercent(100);
          setStage("done");
          step.textContent = "";
        }
        finish();
      });
    }
  }
})();
