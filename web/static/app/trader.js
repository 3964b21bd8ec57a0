// The trader page: the stream's events for this trader re-fetch the panels they touch (the
// same partials the page was built with: one source of truth for every number), redraw the
// charts' markers and curve, and every (re)connect reloads all of it as a fresh snapshot.

import { LiveStream } from "./live.js";
import { CandleChart } from "./trader_chart.js";
import { EquityChart } from "./equity_chart.js";

const root = document.getElementById("trader-page");
const accountId = Number(root.dataset.accountId);
const DEBOUNCE_MS = 250;
const dirty = new Set();
let timer = null;

const candles = [...root.querySelectorAll('[data-testid="candle-chart"]')].map(
  (el) => new CandleChart(el),
);
const equityEl = root.querySelector('[data-testid="equity-chart"]');
const equity = equityEl ? new EquityChart(equityEl) : null;

// What each pushed event changes on this page.
const TOUCHES = {
  // A fill moves the equity now: the curve's last point is the current equity (api/equity.py).
  trade_update: ["kpis", "orders", "trades", "candles", "positions", "equity"],
  position_update: ["kpis", "positions", "candles", "equity"],
  model_chat_update: ["decisions", "kpis"],
  asset_curve_update: ["equity", "kpis"],
  status_update: ["head"],
};
const EVERYTHING = ["head", "kpis", "positions", "orders", "trades", "decisions",
  "reconciliation", "candles", "equity"];

function panel(name) {
  return root.querySelector(`.panel[data-panel="${name}"]`);
}

function refreshPanel(name) {
  const box = panel(name);
  if (!box || box.querySelector(".htmx-request")) return Promise.resolve(); // an action answers it
  const src = box.querySelector(".panel-body")?.dataset.src;
  if (!src) return Promise.resolve();
  // Its own source: htmx drops a request while another from the same source is in flight.
  return window.htmx.ajax("GET", src, { source: box, target: box, swap: "innerHTML" });
}

function refreshHead() {
  const row = document.querySelector("#trader-head article");
  if (!row || row.querySelector(".htmx-request")) return Promise.resolve();
  const url = `/traders/${accountId}/row`;
  return window.htmx.ajax("GET", url, { source: row, target: row, swap: "outerHTML" });
}

function refresh(names) {
  const jobs = [];
  for (const name of names) {
    if (name === "head") jobs.push(refreshHead());
    else if (name === "candles") jobs.push(...candles.map((c) => c.load()));
    else if (name === "equity") jobs.push(equity ? equity.load() : Promise.resolve());
    else jobs.push(refreshPanel(name));
  }
  return Promise.all(jobs);
}

function later(names) {
  names.forEach((n) => dirty.add(n));
  clearTimeout(timer);
  timer = setTimeout(() => {
    const names = [...dirty];
    dirty.clear();
    refresh(names);
  }, DEBOUNCE_MS);
}

function onEvent(msg) {
  if (msg.type === "snapshot") {
    later(EVERYTHING); // the server could not replay what this socket missed
    return;
  }
  if (msg.data?.account_id !== accountId) return;
  const names = TOUCHES[msg.type];
  if (names) later(names);
}

new LiveStream({
  channels: ["trades", "positions", "model_chat", "asset_curve"],
  onEvent,
  onOpen: () => refresh(EVERYTHING),
}).start();

// The UTC/local toggle (app.js stores the choice first): the charts' axes follow it.
document.getElementById("tz-toggle")?.addEventListener("click", () => refresh(["candles", "equity"]));
