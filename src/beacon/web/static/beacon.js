// Beacon's only script (the pages work without it): keyboard shortcuts on the review screen,
// an undo window before an approval is sent, and "tick all" in the queue. Loaded from /static
// so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  const SHORTCUTS_OFF = "beacon.shortcuts.off";
  const UNDO_SECONDS = 5;

  function shortcutsOn() { return localStorage.getItem(SHORTCUTS_OFF) !== "1"; }

  function onReviewScreen(screen) {
    const form = document.getElementById("decision");
    const approve = document.getElementById("approve");
    const reason = form && form.querySelector("input[name=reason]");
    const toggle = document.getElementById("shortcuts");
    if (toggle) {  // single-key shortcuts can be turned off (WCAG 2.1.4)
      toggle.checked = shortcutsOn();
      toggle.addEventListener("change", () => localStorage.setItem(SHORTCUTS_OFF, toggle.checked ? "0" : "1"));
    }
    document.addEventListener("keydown", (e) => {
      // Never while typing, never with a modifier (Ctrl+A selects text; it must not approve).
      if (!shortcutsOn() || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
      if (e.target.closest("textarea, input, select, [contenteditable]")) return;
      if (e.key === "a" && approve) { e.preventDefault(); approve.click(); }
      if (e.key === "r" && reason) { e.preventDefault(); reason.focus(); }
      if (e.key === "n") { e.preventDefault(); location.href = "/teacher/next?after=" + screen.dataset.draft; }
    });
    if (!form || !approve) return;
    // An approval waits a few seconds with an Undo before it is sent: nothing is released
    // until then, and the schema never has to take a release back.
    let pending = null;
    const banner = document.getElementById("undo");
    form.addEventListener("submit", (e) => {
      const action = e.submitter ? e.submitter.value : "";
      if (action !== "approve" || form.dataset.sending === "1") return;
      e.preventDefault();
      if (pending) return;
      let left = UNDO_SECONDS;
      banner.hidden = false;
      banner.querySelector("[data-count]").textContent = left;
      approve.disabled = true;
      pending = setInterval(() => {
        left -= 1;
        banner.querySelector("[data-count]").textContent = left;
        if (left > 0) return;
        clearInterval(pending);
        form.dataset.sending = "1";
        const field = document.createElement("input");
        field.type = "hidden"; field.name = "action"; field.value = "approve";
        form.appendChild(field);
        form.submit();
      }, 1000);
    });
    banner.querySelector("button").addEventListener("click", () => {
      clearInterval(pending);
      pending = null;
      banner.hidden = true;
      approve.disabled = false;
      approve.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const screen = document.querySelector("[data-review-screen]");
    if (screen) onReviewScreen(screen);
  });
  // Delegated: HTMX swaps the queue (and this box) in place.
  document.addEventListener("click", (e) => {
    if (e.target.id !== "all") return;
    document.querySelectorAll("input[name=draft]:not(:disabled)").forEach((b) => { b.checked = e.target.checked; });
  });
})();
