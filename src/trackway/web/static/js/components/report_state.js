// A report's state as its URL or a saved report keeps it: the page's defaults completed with
// what the link holds, and the days the state covers.

import { resolveRange } from "./date_range.js";

/**
 * The page's `defaults` completed with a link's or a saved report's `state`, so that links
 * made before a field existed (or edited by hand) stay valid: the state's fields win, a list
 * that is not a list falls back to the default's, and `complete[key](value, fallback)` tidies
 * a field further (its steps, a nested object).
 */
export function completeState(defaults, state, complete = {}) {
  if (!state || typeof state !== "object") return defaults;
  const out = { ...defaults, ...state };
  for (const [key, fallback] of Object.entries(defaults)) {
    if (Array.isArray(fallback) && !Array.isArray(out[key])) out[key] = fallback;
  }
  for (const [key, tidy] of Object.entries(complete)) out[key] = tidy(out[key], defaults[key]);
  return out;
}

/** The days a report covers, in its time zone. */
export function reportDays(state, project) {
  const zone = state.timezone || project.timezone || "UTC";
  return { ...resolveRange(state.range, zone), timezone: state.timezone || null };
}

/** The spec's date range and time zone. */
export function daysSpec(state, project) {
  const days = reportDays(state, project);
  const spec = { from_date: days.from_date, to_date: days.to_date };
  if (state.timezone) spec.timezone = state.timezone;
  return spec;
}
