// reelforge web: small progressive enhancements (every page works without them).
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.setAttribute("data-copied", "");
    }, () => {});
  }
});

// A table wider than its box scrolls inside it (.scroll): such a box is made reachable by
// keyboard (Tab, then the arrow keys) and named by its table's caption (WCAG 2.1.1).
function scrollRegions() {
  for (const box of document.querySelectorAll(".scroll")) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.setAttribute("data-scroll-region", "");
      box.setAttribute("role", "region");
      const caption = box.querySelector("caption");
      if (caption) box.setAttribute("aria-label", caption.textContent.trim());
    } else if (!scrolls && box.hasAttribute("data-scroll-region")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
      box.removeAttribute("data-scroll-region");
    }
  }
}
scrollRegions();
window.addEventListener("resize", scrollRegions);
document.addEventListener("htmx:afterSettle", scrollRegions);
