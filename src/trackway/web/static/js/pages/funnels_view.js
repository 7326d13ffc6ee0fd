// The Funnels result: the funnel chart and its steps table (conversion and drop-off per step,
// counts and %), time to convert as a histogram, or conversion over time.

import { timeSeriesChart } from "../components/chart.js";
import { columnChart, funnelChart, segmentFunnelChart } from "../components/report_charts.js";
import { h, replace, select, uid } from "../dom.js";
import { formatDuration, formatNumber, formatPercent, formatShortDuration, segmentLabel } from "../format.js";
import { unitWord } from "../components/count_by.js";
import { showEmpty } from "../components/status.js";
import { dropOffPanel } from "./funnels_dropoffs.js";

const UNITS = { uniques: "users", first: "users", totals: "attempts", sessions: "sessions" };

/** Draw `result` (POST /funnels) into `el` as the state's view says. */
export function renderFunnel(el, result, state, view) {
  const labels = result.steps.map((s) => `${s.step}. ${s.label}`);
  const counts = result.steps.map((s) => s.count);
  if (!counts[0]) {
    showEmpty(el, "No one did the first step in this date range.");
    return;
  }
  const chart = h("div", { class: "chart-area" });
  if (view.compact) {
    replace(el, chart, h("p", { class: "tile-meta" }, `Overall conversion ${formatPercent(result.steps.at(-1).overall_conversion)}`));
    funnelChart(chart, { labels, counts }, { compact: true, height: 220 });
    return;
  }
  if (state.view === "time") return timeView(el, result, state, view);
  if (state.view === "trend") return trendView(el, result);
  const segments = result.segments ? segmentRows(result.segments) : [];
  const panel = h("div", { class: "drop-offs" });
  replace(el, chart, stepsTable(result, state, panel, view), segments.length ? segmentsTable(result, segments) : null, panel);
  if (segments.length) segmentFunnelChart(chart, { labels, segments: segments.slice(0, 8) });
  else funnelChart(chart, { labels, counts });
}

function stepsTable(result, state, panel, view) {
  const unit = result.counting === "uniques" || result.counting === "first" ? unitWord(state) : UNITS[result.counting] || unitWord(state);
  const steps = result.steps;
  const rows = steps.map((s, i) => {
    const next = steps[i + 1];
    const dropped = next ? s.count - next.count : null;
    const button = next
      ? h("button", {
        class: "link", type: "button", "data-drop-step": s.step,
        "aria-label": `${formatNumber(dropped)} ${unit} dropped off after step ${s.step}: list them`,
        onclick: () => view.ctx && dropOffPanel(panel, { ...view, state, result, step: s.step }),
      }, `${formatNumber(dropped)} · ${formatPercent(s.count ? dropped / s.count : null)}`)
      : h("button", {
        class: "link", type: "button", "data-drop-step": s.step, "aria-label": `List the ${formatNumber(s.count)} ${unit} who converted`,
        onclick: () => view.ctx && dropOffPanel(panel, { ...view, state, result, step: s.step }),
      }, "Converted");
    const time = s.time_to_convert;
    return h("tr", { "data-step": s.step },
      h("th", { scope: "row" }, h("span", { class: "step-number" }, s.step), s.label),
      h("td", { class: "num", "data-value": s.count, "data-column": "count" }, formatNumber(s.count)),
      h("td", { class: "num", "data-column": "step_conversion" }, i ? formatPercent(s.step_conversion) : "–"),
      h("td", { class: "num", "data-column": "overall_conversion" }, formatPercent(s.overall_conversion)),
      h("td", { class: "num", "data-value": dropped ?? "", "data-column": "dropped" }, view.ctx ? button : dropped === null ? "–" : formatNumber(dropped)),
      h("td", { class: "num", "data-column": "median" }, time ? formatDuration(time.median_ms) : "–"));
  });
  return h("div", { class: "scroll steps-table" },
    h("table", { class: "data-table", "data-table": "funnel-steps" },
      h("caption", {}, `Steps, counting ${unit}. Choose a drop-off to list who dropped off there.`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Step"),
        h("th", { scope: "col", class: "num" }, unit[0].toUpperCase() + unit.slice(1)),
        h("th", { scope: "col", class: "num" }, "From previous"),
        h("th", { scope: "col", class: "num" }, "Overall"),
        h("th", { scope: "col", class: "num" }, "Dropped off"),
        h("th", { scope: "col", class: "num" }, "Median time"))),
      h("tbody", {}, rows)));
}

function segmentRows(segments) {
  return segments.rows.map((row) => ({
    name: segmentLabel(row.segment.map((v) => (v === "$other" ? "Other" : v))),
    counts: row.counts,
  }));
}

function segmentsTable(result, segments) {
  return h("div", { class: "scroll segments-table" },
    h("table", { class: "data-table", "data-table": "funnel-segments" },
      h("caption", {}, `${segments.length} segments: who reached each step`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Segment"),
        result.steps.map((s) => h("th", { scope: "col", class: "num" }, `${s.step}. ${s.label}`)),
        h("th", { scope: "col", class: "num" }, "Overall"))),
      h("tbody", {}, segments.map((s) => h("tr", { "data-segment": s.name },
        h("th", { scope: "row" }, s.name),
        s.counts.map((c) => h("td", { class: "num", "data-value": c }, formatNumber(c))),
        h("td", { class: "num" }, formatPercent(s.counts[0] ? s.counts.at(-1) / s.counts[0] : null)))))));
}

function timeView(el, result, state, view) {
  const choices = result.steps.slice(1).map((s) => [String(s.step), `${s.step - 1}. ${result.steps[s.step - 2].label} → ${s.step}. ${s.label}`]);
  const wanted = String(Math.min(Math.max(2, Number(state.time_step) || 2), result.steps.length));
  const id = uid("time-step");
  const picker = select(choices, wanted, { id, name: "time-step" });
  const chart = h("div", { class: "chart-area" });
  const stats = h("dl", { class: "stats" });
  const draw = () => {
    const step = result.steps[Number(picker.value) - 1];
    const time = step.time_to_convert;
    if (!time) {
      showEmpty(chart, "No one reached this step.");
      replace(stats);
      return;
    }
    const edges = time.histogram.edges_ms;
    const labels = time.histogram.counts.map((_, i) => `${formatShortDuration(edges[i])}–${formatShortDuration(edges[i + 1])}`);
    columnChart(chart, { labels, values: time.histogram.counts, name: `Time to ${step.label}` });
    const stat = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
    replace(stats,
      stat("Median", formatDuration(time.median_ms)),
      stat("Average", formatDuration(time.avg_ms)),
      Object.entries(time.percentiles).filter(([p]) => p !== "50").map(([p, v]) => stat(`${p}th percentile`, formatDuration(v))),
      stat("Average from step 1", formatDuration(time.avg_from_start_ms)));
  };
  picker.addEventListener("change", () => {
    state.time_step = Number(picker.value);
    view.ctx?.setState(structuredClone(state));
    draw();
  });
  replace(el, h("div", { class: "row time-head" }, h("div", { class: "field" }, h("label", { for: id }, "Time between"), picker), stats), chart);
  draw();
}

function trendView(el, result) {
  const over = result.over_time;
  if (!over) {
    showEmpty(el, "Choose an interval to see conversion over time.");
    return;
  }
  const last = result.steps.length - 1;
  const rate = over.counts.map((c) => (c[0] ? (100 * c[last]) / c[0] : null));
  const starts = over.counts.map((c) => c[0]);
  const chart = h("div", { class: "chart-area" });
  const table = h("div", { class: "scroll trend-table" },
    h("table", { class: "data-table", "data-table": "funnel-trend" },
      h("caption", {}, `Attempts by the ${over.unit} they started, and how many converted`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Started"), h("th", { scope: "col", class: "num" }, "Entered"),
        h("th", { scope: "col", class: "num" }, "Converted"), h("th", { scope: "col", class: "num" }, "Conversion"))),
      h("tbody", {}, over.buckets.map((b, i) => h("tr", { "data-bucket": b },
        h("th", { scope: "row" }, b),
        h("td", { class: "num" }, formatNumber(starts[i])),
        h("td", { class: "num" }, formatNumber(over.counts[i][last])),
        h("td", { class: "num" }, formatPercent(starts[i] ? over.counts[i][last] / starts[i] : null)))))));
  replace(el, chart, table);
  const total = starts.reduce((a, b) => a + b, 0);
  const converted = over.counts.reduce((a, c) => a + c[last], 0);
  timeSeriesChart(chart, {
    buckets: over.buckets, unit: over.unit,
    series: [{ name: "Overall conversion (%)", values: rate, total: total ? Number(((100 * converted) / total).toFixed(1)) : 0 }],
  }, { type: "line", height: 300, percent: true });
}
