// The trader's equity curve (line) and its drawdown from the running peak (area, in % on its
// own scale), from the page's equity.json (api/equity.py's curve). `data-point-count` says how
// many points are drawn.

import { chartOptions, cssVar, getJson, shift } from "./chart_theme.js";

export class EquityChart {
  constructor(el) {
    this.el = el;
    this.label = document.querySelector('[data-testid="max-drawdown"]');
    this.busy = null;
  }

  setup() {
    if (this.chart) return true;
    const LC = window.LightweightCharts;
    if (!LC) return false;
    this.chart = LC.createChart(this.el, chartOptions());
    this.equity = this.chart.addSeries(LC.LineSeries, { color: cssVar("--accent"), lineWidth: 2 });
    // Drawdown on a scale of its own below the curve, growing downwards.
    this.drawdown = this.chart.addSeries(LC.LineSeries, {
      priceScaleId: "drawdown", color: cssVar("--down"), lineWidth: 1,
      priceFormat: { type: "custom", formatter: (v) => `-${v.toFixed(2)}%` },
    });
    this.chart.priceScale("drawdown").applyOptions({
      scaleMargins: { top: 0.72, bottom: 0.02 }, invertScale: true,
    });
    this.chart.priceScale("right").applyOptions({ scaleMargins: { top: 0.08, bottom: 0.34 } });
    return true;
  }

  load() {
    if (!this.busy) this.busy = this.fetchDraw().finally(() => { this.busy = null; });
    return this.busy;
  }

  async fetchDraw() {
    if (!this.setup()) return;
    const data = await getJson(this.el.dataset.src).catch(() => null);
    if (!data) return;
    // One point per time: lightweight-charts refuses repeats (the current point can share one).
    const seen = new Map();
    for (const p of data.points) seen.set(shift(p.time), p);
    const points = [...seen.entries()].sort((a, b) => a[0] - b[0]);
    this.equity.setData(points.map(([time, p]) => ({ time, value: Number(p.equity) })));
    this.drawdown.setData(points.map(([time, p]) => ({ time, value: Number(p.drawdown_pct) })));
    this.chart.timeScale().fitContent();
    this.el.dataset.pointCount = String(points.length);
    if (this.label) this.label.textContent = data.max_drawdown_pct === null ? "—" : `${data.max_drawdown_pct}%`;
  }
}
