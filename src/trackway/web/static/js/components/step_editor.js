// A report step: an event and its own filters, as funnel steps, exclusions, retention's birth
// and return events and the flows anchor use them. The state {event, filters, where} becomes
// the spec's step {event, where} (docs/behaviour.md#common-rules).

import { h } from "../dom.js";
import { combineWhere, filterEditor, filterExpression } from "./filters.js";
import { eventPicker } from "./pickers.js";

export function newStep(event = null) {
  return { event, filters: [], where: "" };
}

/** A step from a URL's state, completed. */
export function normalizeStep(step) {
  const base = newStep();
  if (!step || typeof step !== "object") return base;
  return { ...base, ...step, filters: Array.isArray(step.filters) ? step.filters : [] };
}

/** The step's `where`: its filter rows and free expression, or null. */
export function stepWhere(step) {
  return combineWhere(step.filters.map(filterExpression), step.where);
}

/** The spec's step: {event?, where?} (no event: any event). */
export function stepSpec(step, extra = {}) {
  const out = { ...extra };
  if (step.event) out.event = step.event;
  const where = stepWhere(step);
  if (where) out.where = where;
  return out;
}

export function stepLabel(step, anyText = "Any event") {
  const filtered = stepWhere(step) ? " (filtered)" : "";
  return `${step.event || anyText}${filtered}`;
}

/**
 * An event picker with the step's filter rows under it; edits `step` in place.
 * `label` names the picker (and the group), `badge` is a short mark beside it (a step
 * number), `onRemove` adds a remove button.
 */
export function stepEditor(api, step, { label, name, onChange, onRemove = null, allowAll = true, badge = null, extra = null }) {
  const picker = eventPicker(api, {
    label, name, value: step.event, allowAll,
    onChange: (next) => {
      step.event = next || null;
      onChange();
    },
  });
  const remove = onRemove
    ? h("button", { class: "button icon ghost", type: "button", "aria-label": `Remove ${label}`, title: `Remove ${label}`, onclick: onRemove }, "×")
    : null;
  const filters = filterEditor(api, step.filters, { event: () => step.event, onChange, label, compact: true });
  return h("div", { class: "step", role: "group", "aria-label": label },
    h("div", { class: "step-head" },
      badge ? h("span", { class: "metric-letter", "aria-hidden": "true" }, badge) : null,
      picker, remove),
    extra, filters);
}
