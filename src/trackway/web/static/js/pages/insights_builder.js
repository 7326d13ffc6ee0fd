// The Insights query builder: metrics (event and measure), filters, a free expression and
// breakdowns. It edits the state in place and calls `onChange` after every edit.

import { breakdownEditor, filterEditor, whereField } from "../components/filters.js";
import { eventPicker, propertyPicker } from "../components/pickers.js";
import { h, replace, select, uid } from "../dom.js";
import { LETTERS, MEASURES, PROPERTY_MEASURES } from "./insights_query.js";

const MAX_METRICS = 6;

export function insightsBuilder(api, state, onChange) {
  const metrics = h("div", { class: "stack" });
  const addMetric = h("button", { class: "button small ghost", type: "button" }, "+ Add metric");
  const renderMetrics = () => {
    replace(metrics, state.metrics.map((metric, index) => metricRow(api, state, metric, index, onChange, () => {
      state.metrics.splice(index, 1);
      renderMetrics();
      onChange();
    })));
    addMetric.hidden = state.metrics.length >= MAX_METRICS;
  };
  addMetric.addEventListener("click", () => {
    state.metrics.push({ event: null, measure: "total", property: null });
    renderMetrics();
    onChange();
    metrics.lastElementChild?.querySelector("input")?.focus();
  });
  renderMetrics();

  return h("form", { class: "builder", "aria-label": "Report definition", onsubmit: (e) => e.preventDefault() },
    h("fieldset", { class: "editor" }, h("legend", {}, "Metrics"), metrics, addMetric),
    filterEditor(api, state.filters, { event: () => singleEvent(state), onChange }),
    whereField(state, onChange, {
      id: uid("where"),
      help: "Optional, added with “and”. Language: properties[\"name\"], ==, in, and, or, not, defined(…).",
    }),
    breakdownEditor(api, state.breakdowns, { event: () => singleEvent(state), onChange }));
}

/** The event every metric counts, when there is exactly one (its properties are offered). */
function singleEvent(state) {
  const events = new Set(state.metrics.map((m) => m.event || null));
  return events.size === 1 ? [...events][0] : null;
}

function metricRow(api, state, metric, index, onChange, remove) {
  const letter = LETTERS[index];
  const property = propertyPicker(api, {
    label: "Property", value: metric.property, event: () => metric.event, name: `metric-${index}-property`, numeric: metric.measure !== "distinct",
    onChange: (next) => { metric.property = next; onChange(); },
  });
  property.hidden = !PROPERTY_MEASURES.has(metric.measure);
  const event = eventPicker(api, {
    label: "Event", value: metric.event, name: `metric-${index}-event`,
    onChange: (next) => { metric.event = next || null; onChange(); },
  });
  const measureId = uid("measure");
  const measure = select(MEASURES, metric.measure, { id: measureId, name: `metric-${index}-measure` });
  measure.addEventListener("change", () => {
    metric.measure = measure.value;
    property.hidden = !PROPERTY_MEASURES.has(metric.measure);
    if (property.hidden) metric.property = null;
    onChange();
  });
  const removeButton = state.metrics.length > 1
    ? h("button", { class: "button icon ghost", type: "button", "aria-label": `Remove metric ${letter}`, title: "Remove metric", onclick: remove }, "×")
    : null;
  return h("div", { class: "metric", role: "group", "aria-label": `Metric ${letter}` },
    h("div", { class: "metric-head" }, h("span", { class: "metric-letter", "aria-hidden": "true" }, letter), removeButton),
    event,
    h("div", { class: "field" }, h("label", { for: measureId }, "Measure"), measure),
    property);
}
