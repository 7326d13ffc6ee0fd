// Filter and breakdown editors. Filters are rows {property, op, value, type}, or cohort rows
// {cohort, negate}, turned into an expression (docs/expressions.md) joined with `and`; a free
// expression may be added to them.

import { h, replace, select } from "../dom.js";
import { cohortExpression, cohortRow, isCohortRow } from "./cohort_filter.js";
import { propertyPicker, propertyTypes, valuePicker } from "./pickers.js";

export const OPERATORS = [
  ["==", "is"],
  ["!=", "is not"],
  ["contains", "contains"],
  ["not contains", "does not contain"],
  [">", ">"],
  [">=", "≥"],
  ["<", "<"],
  ["<=", "≤"],
  ["set", "is set"],
  ["not set", "is not set"],
];
const NO_VALUE = new Set(["set", "not set"]);
const NUMERIC = new Set([">", ">=", "<", "<="]);

/** A string as an expression literal. */
export function stringLiteral(text) {
  return JSON.stringify(String(text));
}

export function propertyRef(name) {
  return `properties[${stringLiteral(name)}]`;
}

function literal(value, type, op) {
  const text = String(value ?? "").trim();
  if ((type === "number" || NUMERIC.has(op)) && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(text)) return text;
  if (type === "boolean" && (text === "true" || text === "false")) return text;
  return stringLiteral(text);
}

/** One filter row as an expression, or null while it is incomplete. */
export function filterExpression(row) {
  if (isCohortRow(row)) return cohortExpression(row);
  const { property, op, value, type } = row;
  if (!property) return null;
  const ref = propertyRef(property);
  if (op === "set") return `defined(${ref})`;
  if (op === "not set") return `not defined(${ref})`;
  if (value === undefined || value === null || String(value).trim() === "") return null;
  if (op === "contains") return `${stringLiteral(value)} in ${ref}`;
  if (op === "not contains") return `not (${stringLiteral(value)} in ${ref})`;
  return `${ref} ${op} ${literal(value, type, op)}`;
}

/** Expressions joined with `and`, each in parentheses; null when there are none. */
export function combineWhere(...expressions) {
  const parts = expressions.flat().filter((e) => e && String(e).trim());
  if (!parts.length) return null;
  return parts.length === 1 ? String(parts[0]).trim() : parts.map((e) => `(${String(e).trim()})`).join(" and ");
}

/** The free expression added to the filter rows, "Custom filter expression"; edits
 * `state.where` in place and calls `onChange`. `help`, when given, is said under it. */
export function whereField(state, onChange, { id, help = null }) {
  const where = h("textarea", {
    id, name: "where", rows: "2", spellcheck: "false", value: state.where || "",
    placeholder: 'properties["country"] == "FR"', "aria-describedby": help ? `${id}-help` : null,
  });
  where.addEventListener("change", () => { state.where = where.value.trim(); onChange(); });
  return h("div", { class: "field" }, h("label", { for: id }, "Custom filter expression"), where,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null);
}

/** The editor of a list of filter rows; it edits `filters` in place and calls `onChange`.
 * `compact` (a step's own filters) hides the legend and shortens the buttons. */
export function filterEditor(api, filters, { event = null, onChange, label = "Filters", compact = false }) {
  const list = h("div", { class: "stack" });
  const render = () => {
    replace(list, filters.map((row, index) => {
      const remove = () => {
        filters.splice(index, 1);
        render();
        onChange();
      };
      return isCohortRow(row) ? cohortRow(api, row, onChange, remove) : filterRow(api, row, event, onChange, remove);
    }));
  };
  const adder = (text, make, aria) => {
    const button = h("button", { class: "button small ghost", type: "button", "aria-label": aria }, text);
    button.addEventListener("click", () => {
      filters.push(make());
      render();
      list.lastElementChild?.querySelector("input, select")?.focus();
    });
    return button;
  };
  const add = adder(compact ? "+ Filter" : "+ Add filter", () => ({ property: null, op: "==", value: "", type: "string" }), compact ? `Add a filter to ${label}` : null);
  const cohort = adder(compact ? "+ Cohort" : "+ Cohort filter", () => ({ cohort: null, negate: false }), compact ? `Add a cohort filter to ${label}` : null);
  render();
  return h("fieldset", { class: `editor${compact ? " compact" : ""}` },
    h("legend", { class: compact ? "visually-hidden" : null }, label), list, h("div", { class: "row adders" }, add, cohort));
}

function filterRow(api, row, event, onChange, remove) {
  const value = valuePicker(api, {
    label: "Value", value: row.value, property: () => row.property, event,
    onChange: (next) => { row.value = next; onChange(); },
  });
  value.hidden = NO_VALUE.has(row.op);
  const property = propertyPicker(api, {
    label: "Property", value: row.property, event,
    onChange: async (next) => {
      row.property = next;
      const types = next ? await propertyTypes(api, next, event) : [];
      row.type = types.includes("string") || !types.length ? "string" : types[0];
      onChange();
    },
  });
  const op = select(OPERATORS, row.op, { "aria-label": "Operator", name: "operator" });
  op.addEventListener("change", () => {
    row.op = op.value;
    value.hidden = NO_VALUE.has(row.op);
    onChange();
  });
  const removeButton = h("button", { class: "button icon ghost", type: "button", "aria-label": "Remove filter", title: "Remove filter" }, "×");
  removeButton.addEventListener("click", remove);
  return h("div", { class: "editor-row filter-row" }, property, h("div", { class: "field" }, h("span", { class: "label", "aria-hidden": "true" }, "Operator"), op), value, removeButton);
}

/** The editor of breakdowns [{property}]; edits in place and calls `onChange`. */
export function breakdownEditor(api, breakdowns, { event = null, onChange, max = 3 }) {
  const list = h("div", { class: "stack" });
  const add = h("button", { class: "button small ghost", type: "button" }, "+ Add breakdown");
  const render = () => {
    replace(list, breakdowns.map((row, index) => {
      const picker = propertyPicker(api, {
        label: `Break down by`, value: row.property, event, name: `breakdown-${index}`,
        onChange: (next) => { row.property = next; onChange(); },
      });
      const remove = h("button", { class: "button icon ghost", type: "button", "aria-label": "Remove breakdown", title: "Remove breakdown" }, "×");
      remove.addEventListener("click", () => { breakdowns.splice(index, 1); render(); onChange(); });
      return h("div", { class: "editor-row" }, picker, remove);
    }));
    add.hidden = breakdowns.length >= max;
  };
  add.addEventListener("click", () => {
    breakdowns.push({ property: null });
    render();
    list.lastElementChild?.querySelector("input")?.focus();
  });
  render();
  return h("fieldset", { class: "editor" }, h("legend", {}, "Breakdown"), list, add);
}
