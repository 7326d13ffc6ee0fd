// The Insights report's state (what the URL keeps) and the spec it sends to
// POST /insights (docs/insights.md).

import { groupSpec } from "../components/count_by.js";
import { combineWhere, filterExpression } from "../components/filters.js";
import { completeState, daysSpec } from "../components/report_state.js";
import { segmentLabel } from "../format.js";

export const MEASURES = [
  ["total", "Total events"],
  ["unique", "Unique users"],
  ["dau", "Daily active users"],
  ["wau", "Weekly active users"],
  ["mau", "Monthly active users"],
  ["per_user_avg", "Average per user"],
  ["per_user_median", "Median per user"],
  ["sum", "Sum of property"],
  ["avg", "Average of property"],
  ["min", "Minimum of property"],
  ["max", "Maximum of property"],
  ["median", "Median of property"],
  ["p90", "90th percentile of property"],
  ["p99", "99th percentile of property"],
  ["distinct", "Distinct values of property"],
];
export const PROPERTY_MEASURES = new Set(["sum", "avg", "min", "max", "median", "p90", "p99", "distinct"]);
export const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function defaultState() {
  return {
    metrics: [{ event: null, measure: "total", property: null }],
    filters: [],
    where: "",
    breakdowns: [],
    range: { last: 30 },
    unit: "day",
    timezone: null,
    group: null,
    view: "line",
    limit: 10,
  };
}

/** A state from a URL or a saved report, completed; it has at least one metric. */
export function normalize(state) {
  return completeState(defaultState(), state, { metrics: (metrics, fallback) => (metrics.length ? metrics : fallback) });
}

export function describe(state) {
  return state.metrics.map(metricLabel).join(", ");
}

export function measureLabel(measure) {
  const found = MEASURES.find(([value]) => value === measure);
  return found ? found[1] : measure;
}

export function metricLabel(metric) {
  const what = metric.event || "All events";
  const how = PROPERTY_MEASURES.has(metric.measure)
    ? `${measureLabel(metric.measure).replace("of property", "of")} ${metric.property || "?"}`
    : measureLabel(metric.measure);
  return `${what} · ${how}`;
}

/** What is wrong with the state before it is sent, or null. */
export function problem(state) {
  for (const [i, metric] of state.metrics.entries()) {
    if (PROPERTY_MEASURES.has(metric.measure) && !metric.property) {
      return `Metric ${LETTERS[i]}: choose the property to measure (${measureLabel(metric.measure)}).`;
    }
  }
  return null;
}

/** The Insights spec for POST /insights. */
export function insightsSpec(state, project) {
  const spec = {
    ...daysSpec(state, project),
    unit: state.unit || "day",
    metrics: state.metrics.map((m, i) => {
      const metric = { measure: m.measure, name: LETTERS[i] };
      if (m.event) metric.event = m.event;
      if (PROPERTY_MEASURES.has(m.measure) && m.property) metric.property = m.property;
      return metric;
    }),
    breakdowns: state.breakdowns.filter((b) => b.property).map((b) => ({ property: b.property })),
    limit: state.limit || 10,
    ...groupSpec(state),
  };
  const where = combineWhere(state.filters.map(filterExpression), state.where);
  if (where) spec.where = where;
  return spec;
}

/** The result's series with display names: [{name, metric, segment, values, total}]. */
export function namedSeries(result, state) {
  const byName = Object.fromEntries(state.metrics.map((m, i) => [LETTERS[i], m]));
  const several = state.metrics.length > 1;
  return result.series.map((s) => {
    const metric = byName[s.metric];
    const segment = s.segment && s.segment.length ? segmentLabel(s.segment.map((v) => (v === "$other" ? "Other" : v))) : "";
    const base = metric ? metricLabel(metric) : s.metric;
    const label = state.group ? base.replace(/users\b/g, "groups") : base;
    const name = segment ? (several ? `${segment} · ${label}` : segment) : label;
    return { ...s, name };
  });
}
