// A backtest's results: its equity curve, and the first symbol's candles with one marker per
// trade at its entry (an arrow up for long, down for short, with its net PnL). The counts drawn
// are kept in data-point-count and data-marker-count for scripted tests.

import { asLine, candleSeries, getJson, lineSeries, makeChart, palette, setMarkers } from "./charts.js";

const equityBox = document.getElementById("backtest-equity-chart");
const tradesBox = document.getElementById("backtest-trades-chart");

function drawEquity(data) {
  const chart = makeChart(equityBox);
  const points = asLine(data.equity);
  lineSeries(chart, palette[0]).setData(points);
  chart.timeScale().fitContent();
  equityBox.dataset.pointCount = String(points.length);
}

function drawTrades(data) {
  if (!data.candles.length) {
    tradesBox.textContent = "No stored candles for this run's range.";
    return;
  }
  const symbol = document.getElementById("backtest-chart-symbol");
  if (symbol && data.symbol) symbol.textContent = `(${data.symbol})`;
  const chart = makeChart(tradesBox, 320);
  const series = candleSeries(chart);
  series.setData(
    data.candles.map((c) => ({
      time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close),
    })),
  );
  const markers = data.markers
    .map((m) => ({
      time: m.time,
      position: m.side === "short" ? "aboveBar" : "belowBar",
      shape: m.side === "short" ? "arrowDown" : "arrowUp",
      color: m.side === "short" ? palette[1] : palette[2],
      text: `${m.side} ${m.pnl == null ? "" : Number(m.pnl).toFixed(2)}`,
    }))
    .sort((a, b) => a.time - b.time);
  setMarkers(series, markers);
  chart.timeScale().fitContent();
  tradesBox.dataset.markerCount = String(markers.length);
}

async function main() {
  try {
    const data = await getJson(equityBox.dataset.src);
    drawEquity(data);
    drawTrades(data);
  } catch (err) {
    equityBox.textContent = "The charts could not be loaded: reload the page.";
  }
}

main();
