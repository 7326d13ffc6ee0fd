// The Retention report's state (what the URL keeps) and the RetentionSpec it sends to
// POST /retention (docs/behaviour.md#retention).

import { combineWhere, filterExpression } from "../components/filters.js";
import { daysSpec } from "../components/report_page.js";
import { newStep, normalizeStep, stepLabel, stepSpec } from "../components/step_editor.js";
import { addDays } from "../format.js";

export const TYPES = [["first_time", "First time (birth)"], ["recurring", "Every time (recurring)"]];
export const MODES = [["on", "On that period"], ["on_or_after", "On or after (unbounded)"]];
export const UNITS = [["day", "Day"], ["week", "Week"], ["month", "Month"]];
export const MAX_PERIODS = { day: 400, week: 57, month: 13 };

export function defaultState() {
  return {
    born: newStep(),
    returning: newStep(),
    retention_type: "first_time",
    mode: "on",
    unit: "week",
    periods: 8,
    filters: [],
    where: "",
    range: { last: 90 },
    timezone: null,
  };
}

export function normalize(state) {
  const base = defaultState();
  if (!state || typeof state !== "object") return base;
  const out = { ...base, ...state };
  out.born = normalizeStep(state.born);
  out.returning = normalizeStep(state.returning);
  out.filters = Array.isArray(state.filters) ? state.filters : [];
  return out;
}

export function describe(state) {
  return `Retention: ${stepLabel(state.born)} → ${stepLabel(state.returning)}`;
}

export function problem(state) {
  const most = MAX_PERIODS[state.unit] || 400;
  const periods = Number(state.periods);
  if (!Number.isInteger(periods) || periods < 1 || periods > most) {
    return `Choose 1 to ${most} periods after the first ${state.unit}.`;
  }
  return null;
}

export function retentionSpec(state, project) {
  const spec = {
    ...daysSpec(state, project),
    born: stepSpec(state.born),
    returning: stepSpec(state.returning),
    retention_type: state.retention_type,
    unit: state.unit,
    periods: Number(state.periods),
    mode: state.mode,
  };
  const where = combineWhere(state.filters.map(filterExpression), state.where);
  if (where) spec.where = where;
  return spec;
}

/** The first day of period `i` after the cohort that starts on `day` (calendar periods). */
export function periodStart(day, unit, i) {
  const [y, m, d] = day.split("-").map(Number);
  if (unit === "month") return new Date(Date.UTC(y, m - 1 + i, 1)).toISOString().slice(0, 10);
  if (unit === "week") {
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday 0
    return addDays(day, 7 * i - weekday);
  }
  return addDays(day, i);
}

/** Period labels ("Day 0", "Week 1", "Weeks 2-7") for the API's period names. */
export function periodLabel(name, unit) {
  const word = unit[0].toUpperCase() + unit.slice(1);
  return name.includes("-") ? `${word}s ${name}` : `${word} ${name}`;
}
