// Colours and time handling shared by the trader page's charts: the page's own CSS variables
// (light or dark), and times shifted to the browser's zone when the UTC/local toggle says so
// (lightweight-charts draws timestamps as UTC; README "Web app").

import { timeMode } from "./app.js";

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function chartOptions() {
  return {
    autoSize: true,
    layout: { background: { color: cssVar("--panel") }, textColor: cssVar("--text") },
    grid: {
      vertLines: { color: cssVar("--line") },
      horzLines: { color: cssVar("--line") },
    },
    timeScale: { timeVisible: true, secondsVisible: false },
  };
}

// Seconds to add to a UTC timestamp so the chart's axis reads the chosen zone.
export function shift(seconds) {
  if (timeMode() !== "local") return seconds;
  return seconds - new Date(seconds * 1000).getTimezoneOffset() * 60;
}

export async function getJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (r.status === 401 || r.redirected) {
    location.assign("/login");
    return null;
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}
