// Shared by the dashboard, backtest and analytics pages: a lightweight-charts chart that
// follows the page's colours (light/dark), shows dates on its time axis and resizes with its box.
// Values arrive as decimal strings; they become numbers only to be drawn.

const LWC = () => window.LightweightCharts;

function colour(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export const palette = [
  "#0b57d0", "#b3261e", "#0a6b34", "#8e44ad", "#c27c0e", "#00838f", "#5d4037", "#ad1457",
];

export function makeChart(el, height = 280) {
  const chart = LWC().createChart(el, {
    height,
    autoSize: true,
    layout: {
      background: { color: colour("--panel", "#ffffff") },
      textColor: colour("--text", "#16191d"),
      attributionLogo: true, // TradingView's attribution (their licence's notice)
    },
    grid: {
      vertLines: { color: colour("--line", "#d5d9de") },
      horzLines: { color: colour("--line", "#d5d9de") },
    },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: {
      timeFormatter: (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " "),
    },
  });
  return chart;
}

export function lineSeries(chart, color) {
  return chart.addSeries(LWC().LineSeries, { color, lineWidth: 2 });
}

export function candleSeries(chart) {
  return chart.addSeries(LWC().CandlestickSeries, {
    upColor: colour("--up", "#0a6b34"),
    downColor: colour("--down", "#b3261e"),
    wickUpColor: colour("--up", "#0a6b34"),
    wickDownColor: colour("--down", "#b3261e"),
    borderVisible: false,
  });
}

export function setMarkers(series, markers) {
  return LWC().createSeriesMarkers(series, markers);
}

// Points {time: seconds, value: "decimal"} in time order, one per time (the chart refuses
// duplicates): the last value of a time wins.
export function asLine(points) {
  const byTime = new Map();
  for (const p of points) byTime.set(Number(p.time), Number(p.value));
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

export async function getJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}
