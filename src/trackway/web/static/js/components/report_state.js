// A report's state as its URL or a saved report keeps it: the days the state covers.

import { resolveRange } from "./date_range.js";

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
