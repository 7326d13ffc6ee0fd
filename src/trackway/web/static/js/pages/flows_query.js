// The Flows report's state (what the URL keeps) and the FlowsSpec it sends to POST /flows
// (docs/behaviour.md#flows).

import { combineWhere, filterExpression } from "../components/filters.js";
import { groupSpec } from "../components/count_by.js";
import { completeState, daysSpec } from "../components/report_state.js";
import { newStep, normalizeStep, stepLabel, stepSpec } from "../components/step_editor.js";

export const DIRECTIONS = [["after", "After"], ["before", "Before"]];
export const COUNTINGS = [["uniques", "Each user's first time"], ["totals", "Every time"]];
export const MAX_STEPS = 10;

function defaultState() {
  return {
    anchor: newStep(),
    end: newStep(),
    breakdown: null,
    direction: "after",
    steps: 4,
    hide: [],
    collapse_repeats: false,
    counting: "uniques",
    top: 6,
    filters: [],
    where: "",
    range: { last: 30 },
    timezone: null,
    group: null,
  };
}

/** A state from a URL or a saved report, completed. */
export function normalize(state) {
  return completeState(defaultState(), state, { anchor: normalizeStep, end: normalizeStep });
}

export function describe(state) {
  const where = state.direction === "before" ? "before" : "after";
  const end = state.direction === "after" && state.end.event ? ` to ${stepLabel(state.end)}` : "";
  return `Flows ${where} ${stepLabel(state.anchor)}${end}`;
}

export function problem(state) {
  const steps = Number(state.steps);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) return `Choose 1 to ${MAX_STEPS} steps.`;
  return null;
}

export function flowsSpec(state, project) {
  const spec = {
    ...daysSpec(state, project),
    ...groupSpec(state),
    anchor: stepSpec(state.anchor),
    direction: state.direction,
    steps: Number(state.steps),
    collapse_repeats: Boolean(state.collapse_repeats),
    counting: state.counting,
    top: Number(state.top) || 6,
  };
  if (state.direction === "after" && state.end.event) spec.end = stepSpec(state.end);
  if (state.breakdown) spec.breakdown = { property: state.breakdown };
  const hide = state.hide.filter(Boolean);
  if (hide.length) spec.hide = hide;
  const where = combineWhere(state.filters.map(filterExpression), state.where);
  if (where) spec.where = where;
  return spec;
}
