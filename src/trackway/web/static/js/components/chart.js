// Charts over plotly (served by trackway from the installed plotly package). Every chart of
// the app goes through these helpers, so they look alike.

import { h, replace } from "../dom.js";
import { formatNumber } from "../format.js";

export const PALETTE = [
  "#4f46e5", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444",
  "#8b5cf6", "#14b8a6", "#f97316", "#64748b", "#ec4899",
];
const DATE_UNITS = new Set(["day", "week", "month", "quarter"]);
const CONFIG = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
};

function plotly() {
  if (!window.Plotly) throw new Error("The chart library did not load (/web/vendor/plotly.min.js)");
  return window.Plotly;
}

export function baseLayout({ height = 360, compact = false } = {}) {
  return {
    height,
    margin: compact ? { l: 44, r: 12, t: 8, b: 36 } : { l: 56, r: 20, t: 12, b: 48 },
    font: { family: "Inter, Segoe UI, system-ui, sans-serif", size: 12, color: "#4a5468" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hovermode: "x unified",
    showlegend: !compact,
    legend: { orientation: "h", y: -0.18, x: 0 },
    yaxis: { gridcolor: "#e8ebf2", zerolinecolor: "#c4cad8", rangemode: "tozero", automargin: true },
    xaxis: { gridcolor: "rgba(0,0,0,0)", linecolor: "#c4cad8", automargin: true },
  };
}

/** A chart of series over time buckets: `type` "line" or "bar" (grouped). */
export function timeSeriesChart(el, { buckets, unit, series }, { type = "line", height, compact, percent = false } = {}) {
  const traces = series.map((s, i) => ({
    x: buckets,
    y: s.values,
    name: s.name,
    type: type === "bar" ? "bar" : "scatter",
    mode: "lines+markers",
    marker: { color: PALETTE[i % PALETTE.length], size: buckets.length > 60 ? 0 : 5 },
    line: { color: PALETTE[i % PALETTE.length], width: 2 },
    hovertemplate: "%{y:,.4~f}<extra>%{fullData.name}</extra>",
  }));
  const layout = baseLayout({ height, compact });
  layout.barmode = "group";
  layout.xaxis.type = DATE_UNITS.has(unit) ? "date" : "category";
  if (percent) layout.yaxis.ticksuffix = "%";
  return draw(el, traces, layout, describe(series));
}

/** Horizontal bars of labelled values (e.g. totals per segment or funnel steps). */
export function barChart(el, { labels, values, name = "" }, { height, compact, colors } = {}) {
  const traces = [{
    x: values,
    y: labels,
    name,
    type: "bar",
    orientation: "h",
    marker: { color: colors || labels.map((_, i) => PALETTE[i % PALETTE.length]) },
    hovertemplate: "%{y}: %{x:,.4~f}<extra></extra>",
  }];
  const layout = baseLayout({ height: height || Math.max(160, 40 + 28 * labels.length), compact });
  layout.hovermode = "closest";
  layout.showlegend = false;
  layout.yaxis = { automargin: true, autorange: "reversed" };
  layout.xaxis = { gridcolor: "#e8ebf2", rangemode: "tozero" };
  return draw(el, traces, layout, labels.map((l, i) => `${l}: ${formatNumber(values[i])}`).join("; "));
}

/** Draw plotly `traces` into `el` as a figure described by `summary` for screen readers. */
export function draw(el, traces, layout, summary) {
  const target = h("div", { class: "plot" });
  // The chart is a picture to screen readers; the summary (and the table view) carry the data.
  replace(el, h("figure", { class: "chart", role: "img", "aria-label": summary }, target));
  return plotly().newPlot(target, traces, layout, CONFIG);
}

function describe(series) {
  return `Chart of ${series.length} series: ` +
    series.slice(0, 5).map((s) => `${s.name} (total ${formatNumber(s.total)})`).join(", ");
}

/** Free plotly's resources for charts inside `el` (call when a page is left). */
export function purgeCharts(el) {
  if (!window.Plotly) return;
  for (const plot of el.querySelectorAll(".plot")) window.Plotly.purge(plot);
}
