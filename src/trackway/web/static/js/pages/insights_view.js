// The Insights result: a line or bar chart with a totals table, or the full table.

import { timeSeriesChart } from "../components/chart.js";
import { showEmpty } from "../components/status.js";
import { h, replace } from "../dom.js";
import { formatNumber } from "../format.js";
import { namedSeries } from "./insights_query.js";

/** Draw `result` (POST /insights) into `el` as the state's view says. */
export function renderResult(el, result, state, { compact = false } = {}) {
  const series = namedSeries(result, state);
  if (!series.length) {
    showEmpty(el, "No events match this report.");
    return;
  }
  const view = state.view || "line";
  if (view === "table") {
    replace(el, fullTable(result, series, compact));
    return;
  }
  const chart = h("div", { class: "chart-area" });
  replace(el, chart, compact ? null : totalsTable(series));
  timeSeriesChart(chart, { buckets: result.buckets, unit: result.unit, series }, { type: view, compact, height: compact ? 220 : 360 });
}

function totalsTable(series) {
  return h("div", { class: "scroll totals" },
    h("table", { class: "data-table", "data-table": "totals" },
      h("caption", { class: "visually-hidden" }, "Totals over the date range"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Series"), h("th", { scope: "col", class: "num" }, "Total"))),
      h("tbody", {}, series.map((s, i) =>
        h("tr", { "data-series": s.name },
          h("th", { scope: "row" }, h("span", { class: "swatch", style: `--swatch: var(--series-${i % 10})`, "aria-hidden": "true" }), s.name),
          h("td", { class: "num", "data-value": s.total }, formatNumber(s.total)))))));
}

function fullTable(result, series, compact) {
  const buckets = result.buckets;
  return h("div", { class: `scroll table-view${compact ? " compact" : ""}` },
    h("table", { class: "data-table", "data-table": "series" },
      h("caption", {}, `${series.length} series × ${buckets.length} ${result.unit} buckets (${result.timezone})`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Series"),
        h("th", { scope: "col", class: "num" }, "Total"),
        buckets.map((b) => h("th", { scope: "col", class: "num" }, b)))),
      h("tbody", {}, series.map((s) =>
        h("tr", { "data-series": s.name },
          h("th", { scope: "row" }, s.name),
          h("td", { class: "num", "data-value": s.total, "data-column": "total" }, formatNumber(s.total)),
          s.values.map((v, i) => h("td", { class: "num", "data-value": v, "data-bucket": buckets[i] }, formatNumber(v))))))));
}
