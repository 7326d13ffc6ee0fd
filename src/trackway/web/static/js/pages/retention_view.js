// The Retention result: the cohort table as a heat map and the retention curve (rows are
// cohorts with their sizes, cells the share of the cohort that came back, darker for more).
// Periods that have not begun yet are left blank, and the average of a period counts only
// the cohorts that have reached it.

import { curveChart } from "../components/report_charts.js";
import { h, replace } from "../dom.js";
import { formatNumber, formatPercent, today } from "../format.js";
import { unitWord } from "../components/count_by.js";
import { showEmpty } from "../components/status.js";
import { periodLabel, periodStart } from "./retention_query.js";

/** Draw `result` (POST /retention) into `el`. */
export function renderRetention(el, result, state, view) {
  if (!result.total.size) {
    showEmpty(el, "No one did the first event in this date range.");
    return;
  }
  const now = today(result.timezone);
  const firsts = result.periods.map((name) => Number(name.split("-")[0]));
  const begun = (cohort, p) => periodStart(cohort.cohort, result.unit, firsts[p]) <= now;
  // Per period: the users of the cohorts that have reached it.
  const eligible = firsts.map((_, p) => result.cohorts.reduce((sum, c) => sum + (begun(c, p) ? c.size : 0), 0));
  const average = result.total.counts.map((count, p) => (eligible[p] ? count / eligible[p] : null));
  const labels = result.periods.map((name) => periodLabel(name, result.unit));
  const chart = h("div", { class: "chart-area" });
  if (view.compact) {
    replace(el, chart);
  } else {
    replace(el, heatMap(result, labels, average, eligible, begun, unitWord(state)), chart);
  }
  const values = result.total.values;
  curveChart(chart, {
    labels,
    series: [values
      ? { name: `${state.measure === "sum" ? "Sum" : "Average"} of ${state.property}`, values }
      : { name: `All ${unitWord(state)}`, values: average.map((a) => (a === null ? null : 100 * a)) }],
  }, { compact: view.compact, height: view.compact ? 220 : 240, title: `${result.unit}s after the first event`, percent: !values });
}

function heatMap(result, labels, average, eligible, begun, who) {
  const unitWord = result.unit;
  const Who = who[0].toUpperCase() + who.slice(1);
  // Under a sum or average, cells show the value, shaded against the largest.
  const values = result.total.values;
  const most = values ? Math.max(1e-9, ...result.cohorts.flatMap((c) => c.values || []).filter(Number.isFinite), ...values.filter(Number.isFinite)) : 1;
  const show = (row, p, share, of) => (values ? valueCell(row.values?.[p], row.counts[p], most) : cell(share, row.counts[p], of));
  const head = h("tr", {},
    h("th", { scope: "col" }, "Cohort"),
    h("th", { scope: "col", class: "num" }, Who),
    labels.map((l) => h("th", { scope: "col", class: "num" }, l)));
  const totalRow = h("tr", { class: "total", "data-cohort": "all" },
    h("th", { scope: "row" }, `All ${who}`),
    h("td", { class: "num", "data-size": result.total.size }, formatNumber(result.total.size)),
    average.map((share, p) => (share === null ? cell(null) : show(result.total, p, share, eligible[p]))));
  const rows = result.cohorts.map((c) => h("tr", { "data-cohort": c.cohort },
    h("th", { scope: "row" }, cohortLabel(c.cohort, unitWord)),
    h("td", { class: "num", "data-size": c.size }, formatNumber(c.size)),
    c.counts.map((count, p) => (c.size && begun(c, p) ? show(c, p, count / c.size, c.size) : h("td", { class: "num blank", "aria-label": "not yet" })))));
  return h("div", { class: "scroll heat-scroll" },
    h("table", { class: "data-table heat-map", "data-table": "retention" },
      h("caption", {}, `Share of each cohort that came back, by ${unitWord}s since their first event (${result.timezone}). Blank: not yet.`),
      h("thead", {}, head),
      h("tbody", {}, totalRow, rows)));
}

function cell(share, count, of) {
  if (share === null) return h("td", { class: "num blank", "aria-label": "not yet" });
  const strength = Math.min(1, Math.max(0, share));
  const style = `--heat: ${(0.06 + 0.84 * strength).toFixed(3)}`;
  return h("td", {
    class: `num heat${strength > 0.45 ? " dark" : ""}`, style, "data-count": count,
    title: `${formatNumber(count)} of ${formatNumber(of)}`,
  }, formatPercent(share));
}

function valueCell(value, count, most) {
  if (value === null || value === undefined) return h("td", { class: "num", "data-count": count }, "–");
  const strength = Math.min(1, Math.max(0, value / most));
  return h("td", {
    class: `num heat${strength > 0.45 ? " dark" : ""}`, style: `--heat: ${(0.06 + 0.84 * strength).toFixed(3)}`,
    "data-count": count, "data-value": value, title: `${formatNumber(count)} counted`,
  }, formatNumber(Math.round(value * 100) / 100));
}

function cohortLabel(day, unit) {
  const date = new Date(`${day}T00:00:00Z`);
  const options = unit === "month" ? { month: "short", year: "numeric" } : { day: "numeric", month: "short", year: "numeric" };
  const text = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" }).format(date);
  return unit === "week" ? `Week of ${text}` : text;
}
