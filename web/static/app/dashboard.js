// The dashboard: every trader's equity curve on one chart (5m / 1h / 1d), the leaderboard and
// the live feed. Every `/ws` event re-renders the feed and the leaderboard from the server (the
// same HTML the page was built with); every (re)connect reloads all three as a fresh snapshot.

import { LiveStream } from "./live.js";
import { asLine, getJson, lineSeries, makeChart, palette } from "./charts.js";

const feed = document.getElementById("dashboard-feed");
const board = document.getElementById("dashboard-leaderboard-box");
const chartBox = document.getElementById("dashboard-equity-chart");
const legend = document.getElementById("dashboard-legend");
const picker = document.getElementById("feed-trader");
const state = { tab: "trades", account: "", timeframe: "1h" };
const DEBOUNCE_MS = 300;
const BOARD_EVENTS = new Set(["trade_update", "position_update", "status_update", "snapshot"]);
let chart = null;
let series = [];
let waiting = null;
let boardStale = false;

function feedUrl() {
  const q = new URLSearchParams({ tab: state.tab });
  if (state.account) q.set("account_id", state.account);
  return `/dashboard/feed?${q}`;
}

function loadFeed() {
  return window.htmx.ajax("GET", feedUrl(), { target: feed, swap: "innerHTML" });
}

function loadBoard() {
  return window.htmx.ajax("GET", "/dashboard/leaderboard", { target: board, swap: "innerHTML" });
}

async function loadCurves() {
  const data = await getJson(`/dashboard/curves.json?timeframe=${state.timeframe}`);
  if (!chart) chart = makeChart(chartBox, 300);
  for (const s of series) chart.removeSeries(s);
  series = [];
  legend.replaceChildren();
  let count = 0;
  data.traders.forEach((t, i) => {
    const points = asLine(t.points.map((p) => ({ time: Date.parse(p.time) / 1000, value: p.equity })));
    const colour = palette[i % palette.length];
    const s = lineSeries(chart, colour);
    s.setData(points);
    series.push(s);
    count += points.length;
    const item = document.createElement("li");
    item.className = `legend-${i % palette.length}`;
    item.textContent = t.name; // a user's text: never markup
    legend.append(item);
  });
  chart.timeScale().fitContent();
  chartBox.dataset.pointCount = String(count);
}

function refreshAll() {
  return Promise.all([loadFeed(), loadBoard(), loadCurves().catch(() => {})]);
}

function onEvent(msg) {
  const id = msg.data?.account_id;
  if (state.account && Number.isInteger(id) && String(id) !== state.account) return;
  // The leaderboard values every trader at current marks: only when holdings changed.
  boardStale ||= BOARD_EVENTS.has(msg.type);
  clearTimeout(waiting);
  waiting = setTimeout(() => {
    loadFeed();
    if (boardStale) loadBoard();
    boardStale = false;
  }, DEBOUNCE_MS);
}

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    state.tab = tab.dataset.tab;
    for (const t of document.querySelectorAll("[data-tab]")) {
      t.setAttribute("aria-selected", String(t === tab));
    }
    feed.setAttribute("aria-labelledby", tab.id);
    loadFeed();
  });
}
picker.addEventListener("change", () => {
  state.account = picker.value;
  loadFeed();
});
for (const b of document.querySelectorAll("[data-timeframe]")) {
  b.addEventListener("click", () => {
    state.timeframe = b.dataset.timeframe;
    for (const x of document.querySelectorAll("[data-timeframe]")) {
      x.setAttribute("aria-pressed", String(x === b));
    }
    loadCurves().catch(() => {
      chartBox.dataset.error = "true";
    });
  });
}

new LiveStream({
  channels: ["trades", "positions", "model_chat", "asset_curve"],
  onEvent,
  onOpen: refreshAll,
}).start();
