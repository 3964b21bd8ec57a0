// Every page's module: htmx's safety settings and CSRF header, the UTC/local time toggle, and
// error notices for requests that fail. The only thing kept in the browser is the time-zone
// preference (localStorage "hyperoru.timezone"): never a token (the session cookie is HttpOnly).

import "./prefs.js"; // theme and money decimals from /settings, on every page

const TZ_KEY = "hyperoru.timezone";
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

export function timeMode() {
  return localStorage.getItem(TZ_KEY) === "local" ? "local" : "utc";
}

const pad = (n) => String(n).padStart(2, "0");

export function formatTime(iso, mode = timeMode()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (mode === "local") {
    const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} local`;
  }
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function applyTimes(root = document) {
  for (const el of root.querySelectorAll("time.ts[datetime]")) {
    el.textContent = formatTime(el.getAttribute("datetime"));
  }
  const toggle = document.getElementById("tz-toggle");
  if (toggle) {
    const local = timeMode() === "local";
    toggle.textContent = local ? "Local time" : "UTC";
    toggle.setAttribute("aria-pressed", String(local));
  }
}

function showError(text) {
  let box = document.getElementById("page-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "page-error";
    box.className = "alert";
    box.setAttribute("role", "alert");
    box.dataset.testid = "page-error";
    document.querySelector("main")?.prepend(box);
  }
  box.textContent = text; // never markup: the text may come from an error body
}

function configureHtmx(htmx) {
  // Also set by the page's htmx-config meta tag; repeated here so a page without it is safe.
  htmx.config.allowEval = false;
  htmx.config.allowScriptTags = false;
  htmx.config.selfRequestsOnly = true;
  htmx.config.includeIndicatorStyles = false;
  document.body.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.verb !== "get") e.detail.headers["X-CSRF-Token"] = csrf;
  });
  document.body.addEventListener("htmx:responseError", (e) => {
    const status = e.detail.xhr.status;
    if (status === 401) return; // HX-Redirect sends the browser to the login page
    showError(`The server answered ${status}: nothing was changed. Reload the page and retry.`);
  });
  document.body.addEventListener("htmx:sendError", () => {
    showError("The server could not be reached: nothing was changed.");
  });
  document.body.addEventListener("htmx:afterSettle", () => applyTimes());
}

if (window.htmx) configureHtmx(window.htmx);
document.getElementById("tz-toggle")?.addEventListener("click", () => {
  localStorage.setItem(TZ_KEY, timeMode() === "local" ? "utc" : "local");
  applyTimes();
});
applyTimes();
