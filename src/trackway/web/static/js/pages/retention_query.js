// The Retention report's state (what the URL keeps) and the RetentionSpec it sends to
// POST /retention (docs/behaviour.md#retention).

import { combineWhere, filterExpression } from "../components/filters.js";
import { groupSpec } from "../components/count_by.js";
import { completeState, daysSpec } from "../components/report_state.js";
import { newStep, normalizeStep, stepLabel, stepSpec } from "../components/step_editor.js";
import { addDays } from "../format.js";

export const TYPES = [["first_time", "First time (birth)"], ["recurring", "Every time (recurring)"]];
export const MODES = [["on", "On that period"], ["on_or_after", "On or after (unbounded)"]];
export const UNITS = [["day", "Day"], ["week", "Week"], ["month", "Month"]];
export const ALIGNMENTS = [["calendar", "Calendar periods"], ["rolling", "Rolling (from the first event)"]];
export const MEASURES = [["users", "Count"], ["sum", "Sum of a property"], ["average", "Average of a property"]];
export const MAX_PERIODS = { day: 400, week: 57, month: 13 };

function defaultState() {
  return {
    born: newStep(),
    returning: newStep(),
    retention_type: "first_time",
    mode: "on",
    alignment: "calendar",
    brackets: "",
    measure: "users",
    property: null,
    min_returns: 1,
    unit: "week",
    periods: 8,
    filters: [],
    where: "",
    range: { last: 90 },
    timezone: null,
    group: null,
  };
}

/** A state from a URL or a saved report, completed. */
export function normalize(state) {
  return completeState(defaultState(), state, { born: normalizeStep, returning: normalizeStep });
}

export function describe(state) {
  return `Retention: ${stepLabel(state.born)} → ${stepLabel(state.returning)}`;
}

/** "1-2, 3-7, 8" as [[1, 2], [3, 7], [8, 8]]; null when empty; a string saying what is wrong. */
export function parseBrackets(text) {
  const parts = String(text || "").split(",").map((p) => p.trim()).filter(Boolean);
  if (!parts.length) return null;
  const out = [];
  for (const part of parts) {
    const match = /^(\d+)\s*(?:-\s*(\d+))?$/.exec(part);
    if (!match) return `Brackets: “${part}” is not a period or a range such as 3-7.`;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || (out.length && first <= out.at(-1)[1])) return "Brackets must be increasing and must not overlap.";
    out.push([first, last]);
  }
  return out;
}

export function problem(state) {
  const brackets = parseBrackets(state.brackets);
  if (typeof brackets === "string") return brackets;
  if (state.measure !== "users" && !state.property) return "Choose the property to measure on the return events.";
  if (!(Number(state.min_returns) >= 1)) return "The minimum number of returns must be at least 1.";
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
    ...groupSpec(state),
    born: stepSpec(state.born),
    returning: stepSpec(state.returning),
    retention_type: state.retention_type,
    unit: state.unit,
    periods: Number(state.periods),
    mode: state.mode,
  };
  if (state.alignment === "rolling") spec.alignment = "rolling";
  const brackets = parseBrackets(state.brackets);
  if (Array.isArray(brackets)) spec.brackets = brackets;
  if (state.measure !== "users") Object.assign(spec, { measure: state.measure, property: state.property });
  if (Number(state.min_returns) > 1) spec.min_returns = Math.round(Number(state.min_returns));
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
