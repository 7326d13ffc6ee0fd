// Date range, unit and time zone pickers. A range is {last: N} (the N days ending today in
// the report's time zone, resolved when the report runs) or {from, to} (fixed days).

import { field, h, select } from "../dom.js";
import { addDays, today } from "../format.js";

export const PRESETS = [
  ["1", "Today"],
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
  ["365", "Last 12 months"],
  ["custom", "Custom dates"],
];
export const UNITS = [
  ["hour", "Hour"],
  ["day", "Day"],
  ["week", "Week"],
  ["month", "Month"],
  ["quarter", "Quarter"],
];

/** {from_date, to_date} of a range, in `timeZone`. */
export function resolveRange(range, timeZone = "UTC") {
  if (range && range.from && range.to) return { from_date: range.from, to_date: range.to };
  const days = range && range.last ? range.last : 30;
  const end = today(timeZone);
  return { from_date: addDays(end, 1 - days), to_date: end };
}

/** The range picker: a preset select and, for custom dates, two date inputs. */
export function rangePicker(range, timeZone, onChange) {
  const custom = Boolean(range && range.from);
  const preset = select(PRESETS, custom ? "custom" : String((range && range.last) || 30), { name: "range" });
  const resolved = resolveRange(range, timeZone);
  const from = h("input", { type: "date", name: "from_date", value: resolved.from_date });
  const to = h("input", { type: "date", name: "to_date", value: resolved.to_date });
  const dates = h("div", { class: "row", hidden: !custom }, field("From", from), field("To", to));
  preset.addEventListener("change", () => {
    if (preset.value === "custom") {
      dates.hidden = false;
      onChange({ from: from.value, to: to.value });
    } else {
      dates.hidden = true;
      onChange({ last: Number(preset.value) });
    }
  });
  const changed = () => {
    if (from.value && to.value && from.value <= to.value) onChange({ from: from.value, to: to.value });
  };
  from.addEventListener("change", changed);
  to.addEventListener("change", changed);
  return h("div", { class: "row range-picker" }, field("Date range", preset), dates);
}

export function unitPicker(unit, onChange) {
  const el = select(UNITS, unit || "day", { name: "unit" });
  el.addEventListener("change", () => onChange(el.value));
  return field("Interval", el);
}

/** Every IANA time zone the browser knows; "" is the project's own. */
export function timeZonePicker(value, projectZone, onChange) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  const options = [["", `Project (${projectZone || "UTC"})`], ...zones.map((z) => [z, z.replaceAll("_", " ")])];
  if (!zones.includes("UTC")) options.splice(1, 0, ["UTC", "UTC"]);
  const el = select(options, value || "", { name: "timezone" });
  el.addEventListener("change", () => onChange(el.value || null));
  return field("Time zone", el);
}
