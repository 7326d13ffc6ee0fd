// Pickers over the project's lexicon: events, properties (with their types), values.

import { formatNumber } from "../format.js";
import { combobox } from "./combobox.js";
import { eventNames, properties, topValues } from "./schema.js";

export const ALL_EVENTS = "";

// `event` and `property` may be functions, read each time the list opens, so a picker
// follows the choices made beside it.
const now = (value) => (typeof value === "function" ? value() : value);

/** An event name; "" means all events when `allowAll`. */
export function eventPicker(api, { label = "Event", value, onChange, allowAll = true, name }) {
  return combobox({
    label,
    name,
    value: value || "",
    placeholder: allowAll ? "All events" : "Choose an event",
    options: async () => {
      const names = await eventNames(api);
      return names.map((e) => ({ value: e.name, meta: formatNumber(e.count) }));
    },
    onChange: (next) => onChange(next || (allowAll ? null : next)),
  });
}

/** A property name, of `event` (or of every event); options show types and counts. */
export function propertyPicker(api, { label = "Property", value, event = null, onChange, name, numeric = false }) {
  return combobox({
    label,
    name,
    value: value || "",
    placeholder: "Choose a property",
    options: async () => {
      const found = await properties(api, now(event));
      return found
        .filter((p) => !numeric || p.types.includes("number"))
        .map((p) => ({ value: p.name, meta: `${p.types.join(", ")} · ${formatNumber(p.count)}` }));
    },
    onChange: (next) => onChange(next || null),
  });
}

/** A value of `property`, from its most common values (free text too). */
export function valuePicker(api, { label = "Value", value, property, event = null, onChange, name }) {
  return combobox({
    label,
    name,
    value: value ?? "",
    placeholder: "Value",
    options: async () => {
      if (!now(property)) return [];
      const found = await topValues(api, now(property), now(event));
      return found.map((v) => ({ value: String(v.value), meta: formatNumber(v.count) }));
    },
    onChange,
  });
}

/** The types a property has been seen with (["string"], ["number", "string"], ...). */
export async function propertyTypes(api, name, event = null) {
  const found = await properties(api, now(event));
  const match = found.find((p) => p.name === name);
  return match ? match.types : [];
}
