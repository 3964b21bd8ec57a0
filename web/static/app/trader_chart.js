// A candle chart of one symbol (TradingView lightweight-charts) with the trader's fills as
// markers and the open position's entry and liquidation prices as lines. `data-marker-count`
// says how many markers are drawn; a click on a marker's bar opens its decision's page.

import { chartOptions, cssVar, getJson, shift } from "./chart_theme.js";

export class CandleChart {
  constructor(el) {
    this.el = el;
    this.note = el.parentElement.querySelector(".chart-note");
    this.byTime = new Map(); // bar time -> the decision ids of the fills on it
    this.lines = [];
    this.busy = null;
  }

  setup() {
    if (this.chart) return true;
    const LC = window.LightweightCharts;
    if (!LC) return false;
    this.chart = LC.createChart(this.el, chartOptions());
    this.series = this.chart.addSeries(LC.CandlestickSeries, {
      upColor: cssVar("--up"), downColor: cssVar("--down"), borderVisible: false,
      wickUpColor: cssVar("--up"), wickDownColor: cssVar("--down"),
    });
    this.markers = LC.createSeriesMarkers(this.series, []);
    this.chart.subscribeClick((p) => this.clicked(p));
    return true;
  }

  clicked(param) {
    if (param.time === undefined) return;
    const ids = this.byTime.get(param.time) || [];
    if (ids.length) location.assign(`/decisions/${encodeURIComponent(ids[ids.length - 1])}`);
  }

  load() {
    // One load at a time; a second asked meanwhile runs once the first ends.
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = this.fetchDraw().finally(() => {
      this.busy = null;
      if (this.again) {
        this.again = false;
        this.load();
      }
    });
    return this.busy;
  }

  async fetchDraw() {
    if (!this.setup()) return;
    let data;
    try {
      data = await getJson(this.el.dataset.src);
    } catch (err) {
      if (this.note) this.note.textContent = `No candles: ${err.message}`;
      return;
    }
    if (!data) return;
    if (this.note) this.note.textContent = data.candles.length ? "" : "No candles for this symbol yet.";
    this.series.setData(data.candles.map((c) => ({
      time: shift(c.time), open: Number(c.open), high: Number(c.high),
      low: Number(c.low), close: Number(c.close),
    })));
    this.byTime.clear();
    const markers = data.markers.map((m) => {
      const time = shift(m.time);
      if (m.decision_id) this.byTime.set(time, [...(this.byTime.get(time) || []), m.decision_id]);
      const buy = m.side === "buy";
      return {
        time, position: buy ? "belowBar" : "aboveBar", shape: buy ? "arrowUp" : "arrowDown",
        color: buy ? cssVar("--up") : cssVar("--down"),
        text: buy ? "B" : "S",
      };
    });
    markers.sort((a, b) => a.time - b.time);
    this.markers.setMarkers(markers);
    this.el.dataset.markerCount = String(markers.length);
    for (const line of this.lines) this.series.removePriceLine(line);
    this.lines = data.lines.map((l) => this.series.createPriceLine({
      price: Number(l.price), lineStyle: 2, lineWidth: 1, axisLabelVisible: true,
      color: l.kind === "liquidation" ? cssVar("--down") : cssVar("--accent"),
      title: l.kind === "entry" ? `entry ${l.side}` : l.kind,
    }));
  }
}
