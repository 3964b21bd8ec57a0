// Two backtests' equity curves on one chart (each run's own chart data, same as its page).

import { asLine, getJson, lineSeries, makeChart, palette } from "./charts.js";

const box = document.getElementById("compare-equity-chart");

async function main() {
  const urls = [box.getAttribute("data-src-0"), box.getAttribute("data-src-1")].filter(Boolean);
  try {
    const runs = await Promise.all(urls.map(getJson));
    const chart = makeChart(box, 320);
    let count = 0;
    runs.forEach((run, i) => {
      const points = asLine(run.equity);
      lineSeries(chart, palette[i]).setData(points);
      count += points.length;
    });
    chart.timeScale().fitContent();
    box.dataset.pointCount = String(count);
  } catch {
    box.textContent = "The curves could not be loaded: reload the page.";
  }
}

main();
