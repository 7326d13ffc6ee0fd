// The Funnels report's state (what the URL keeps) and the FunnelSpec it sends to
// POST /funnels (docs/behaviour.md#funnels).

import { combineWhere, filterExpression } from "../components/filters.js";
import { groupSpec } from "../components/count_by.js";
import { completeState, daysSpec } from "../components/report_state.js";
import { newStep, normalizeStep, stepSpec } from "../components/step_editor.js";

export const ORDERS = [["loose", "In order (other events between)"], ["strict", "Strict order (nothing between)"], ["any", "Any order"]];
export const COUNTINGS = [["uniques", "Unique users"], ["first", "First attempt of each user"], ["totals", "Every attempt"], ["sessions", "Sessions"]];
export const WINDOW_UNITS = [["minute", "minutes"], ["hour", "hours"], ["day", "days"], ["week", "weeks"]];
export const VIEWS = [["steps", "Steps"], ["time", "Time to convert"], ["trend", "Over time"]];
export const TREND_UNITS = [["day", "Day"], ["week", "Week"], ["month", "Month"]];
export const MAX_STEPS = 10;

function defaultState() {
  return {
    steps: [newStep(), newStep()],
    order: "loose",
    anchors: [],
    window: { length: 30, unit: "day" },
    counting: "uniques",
    exclusions: [],
    hold_constant: [],
    breakdowns: [],
    filters: [],
    where: "",
    range: { last: 30 },
    timezone: null,
    group: null,
    view: "steps",
    unit: "day",
    time_step: 2,
  };
}

/** A state from a URL or a saved report, completed (no steps: the default two). */
export function normalize(state) {
  return completeState(defaultState(), state, {
    steps: (steps, fallback) => (steps.length ? steps : fallback).map(normalizeStep),
    exclusions: (exclusions) => exclusions.map((e) => ({ after_step: 1, before_step: null, ...normalizeStep(e) })),
    window: (window, fallback) => ({ ...fallback, ...window }),
  });
}

/** Each step's label as the API gives it: its event, or the default the API uses. */
export function stepName(state, index) {
  const step = state.steps[index];
  return step && step.event ? step.event : "any event";
}

export function describe(state) {
  return `Funnel: ${state.steps.map((s, i) => stepName(state, i)).join(" → ")}`;
}

export function problem(state) {
  if (state.steps.length < 2) return "A funnel needs at least two steps: add one in the builder.";
  const missing = state.steps.findIndex((s) => !s.event);
  if (missing >= 0) return `Choose the event of step ${missing + 1} in the builder to see the funnel.`;
  if (!(state.window.length >= 1)) return "The conversion window must be at least 1.";
  return null;
}

/** The FunnelSpec of the state; `extra` adds fields (drop_offs, unit). */
export function funnelSpec(state, project, extra = {}) {
  const spec = {
    ...daysSpec(state, project),
    ...groupSpec(state),
    steps: state.steps.map((s) => stepSpec(s)),
    order: state.order,
    window: { length: Number(state.window.length), unit: state.window.unit },
    counting: state.counting,
  };
  const last = state.steps.length;
  const anchors = state.order === "any" ? [...new Set(state.anchors)].filter((n) => n >= 1 && n <= last).sort((a, b) => a - b) : [];
  if (anchors.length) spec.anchors = anchors;
  const exclusions = state.exclusions.filter((e) => e.event).map((e) => {
    const after = Math.min(Math.max(1, Number(e.after_step) || 1), last - 1);
    const before = e.before_step ? Math.min(Math.max(after + 1, Number(e.before_step)), last) : null;
    return stepSpec(e, before ? { after_step: after, before_step: before } : { after_step: after });
  });
  if (exclusions.length) spec.exclusions = exclusions;
  const held = state.hold_constant.filter(Boolean);
  if (held.length) spec.hold_constant = held;
  const breakdowns = state.breakdowns.filter((b) => b.property).map((b) => ({ property: b.property }));
  if (breakdowns.length) spec.breakdowns = breakdowns;
  const where = combineWhere(state.filters.map(filterExpression), state.where);
  if (where) spec.where = where;
  if (state.view === "trend") spec.unit = state.unit;
  return { ...spec, ...extra };
}
