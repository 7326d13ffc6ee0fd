// The cohort form: a name, a description and the condition tree — did an event N times in a
// window, a profile expression, in or not in another cohort, listed users, and groups of
// conditions matching all or any of them. It edits `definition` in place.

import { savedCohorts } from "../components/cohort_filter.js";
import { eventPicker } from "../components/pickers.js";
import { field, h, replace, select, uid } from "../dom.js";
import { TYPES, newNode, toCondition } from "./cohorts_condition.js";

const PHRASES = {
  did: ["did", "did not do"],
  profile: ["have a profile where", "do not have a profile where"],
  cohort: ["are in", "are not in"],
  users: ["are one of", "are none of"],
  group: ["match", "do not match"],
};
const WINDOWS = [["within", "In the last N days"], ["dates", "Between dates"], ["ever", "Ever"]];

/** The form; `onSave()` and `onCancel()` are the buttons' actions. */
export function cohortEditor(api, definition, { selfId = null, title, onSave, onCancel }) {
  const preview = h("pre", { class: "json" });
  const changed = () => { preview.textContent = JSON.stringify(toCondition(definition.root), null, 2); };
  const name = h("input", { type: "text", id: "cohort-name", name: "name", value: definition.name, required: true, maxlength: "200" });
  name.addEventListener("input", () => { definition.name = name.value; });
  const description = h("input", { type: "text", id: "cohort-description", name: "description", value: definition.description });
  description.addEventListener("input", () => { definition.description = description.value; });
  const error = h("div", { class: "form-error", role: "alert" });
  const save = h("button", { class: "button primary", type: "submit" }, "Save cohort");
  const form = h("form", { class: "cohort-form", "aria-labelledby": "cohort-form-title" },
    h("h2", { id: "cohort-form-title" }, title),
    h("div", { class: "row" }, h("div", { class: "field grow" }, h("label", { for: "cohort-name" }, "Name"), name),
      h("div", { class: "field grow" }, h("label", { for: "cohort-description" }, "Description"), description)),
    h("div", { class: "conditions" }, groupBody(api, definition.root, "Users", changed, selfId)),
    h("details", { class: "json-preview" }, h("summary", {}, "The definition as JSON"), preview),
    error,
    h("div", { class: "row form-actions" },
      h("button", { class: "button ghost", type: "button", onclick: onCancel }, "Cancel"), save));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(error);
    save.disabled = true;
    try {
      await onSave();
    } catch (failure) {
      replace(error, h("div", { class: "status error" }, h("div", {}, h("strong", {}, "The cohort was not saved"), h("p", { class: "message" }, failure.message))));
    } finally {
      save.disabled = false;
    }
  });
  changed();
  return form;
}

/** A group's match selector and its conditions. */
function groupBody(api, node, label, onChange, selfId) {
  const list = h("div", { class: "stack condition-list" });
  const top = label === "Users";
  // "Condition 2" at the top, "Condition 2.1" inside it.
  const childLabel = (index) => (top ? `Condition ${index + 1}` : `${label}.${index + 1}`);
  const render = () => replace(list, node.children.map((_, index) =>
    conditionEditor(api, node.children, index, childLabel(index), () => { render(); onChange(); }, onChange, selfId)));
  const match = select([["all", "all of these"], ["any", "any of these"]], node.match, { id: uid("match") });
  match.addEventListener("change", () => { node.match = match.value; onChange(); });
  const add = h("button", { class: "button small ghost", type: "button" }, "+ Add condition");
  add.addEventListener("click", () => {
    node.children.push(newNode());
    render();
    onChange();
    list.lastElementChild?.querySelector("select")?.focus();
  });
  render();
  return h("div", { class: "group-body" },
    h("div", { class: "row match" }, h("label", { for: match.id }, top ? "Users who match" : "Matching"), match),
    list, add);
}

/** The editor of `siblings[index]`; `relist` redraws the siblings after a removal. */
function conditionEditor(api, siblings, index, label, relist, onChange, selfId) {
  const node = siblings[index];
  const box = h("div", { class: `condition ${node.type}`, role: "group", "aria-label": label });
  const draw = () => {
    const kind = select(TYPES, node.type, { id: uid("kind") });
    kind.addEventListener("change", () => {
      const fresh = newNode(kind.value);
      fresh.negate = node.negate;
      Object.keys(node).forEach((key) => delete node[key]);
      Object.assign(node, fresh);
      box.className = `condition ${node.type}`;
      draw();
      onChange();
      box.querySelector("select")?.focus();
    });
    const phrase = select(PHRASES[node.type].map((text, i) => [String(i), text]), node.negate ? "1" : "0", { id: uid("phrase") });
    phrase.addEventListener("change", () => { node.negate = phrase.value === "1"; onChange(); });
    const remove = h("button", { class: "button icon ghost", type: "button", "aria-label": `Remove ${label}`, title: "Remove condition" }, "×");
    remove.addEventListener("click", () => { siblings.splice(index, 1); relist(); });
    replace(box,
      h("div", { class: "condition-head" },
        h("span", { class: "condition-label" }, label),
        field("Kind", kind), field("Users who", phrase), remove),
      body(api, node, label, onChange, selfId));
  };
  draw();
  return box;
}

function body(api, node, label, onChange, selfId) {
  if (node.type === "group") return groupBody(api, node, label, onChange, selfId);
  if (node.type === "profile") {
    const text = h("textarea", { rows: "2", spellcheck: "false", value: node.expression, placeholder: 'user["plan"] == "pro"', id: uid("profile") });
    text.addEventListener("input", () => { node.expression = text.value; onChange(); });
    return field("Profile expression", text);
  }
  if (node.type === "cohort") {
    const which = h("select", { id: uid("cohort") }, h("option", { value: "" }, "Loading cohorts…"));
    savedCohorts(api).then((cohorts) => replace(which, h("option", { value: "" }, "Choose a cohort"),
      cohorts.filter((c) => c.cohort_id !== selfId).map((c) => h("option", { value: c.cohort_id, selected: c.cohort_id === node.cohort_id }, c.name))));
    which.addEventListener("change", () => { node.cohort_id = which.value ? Number(which.value) : null; onChange(); });
    return field("Cohort", which);
  }
  if (node.type === "users") {
    const text = h("textarea", { rows: "4", spellcheck: "false", value: node.ids, placeholder: "one distinct_id a line", id: uid("ids") });
    text.addEventListener("input", () => { node.ids = text.value; onChange(); });
    return field("distinct_ids", text);
  }
  return didFields(api, node, onChange);
}

function didFields(api, node, onChange) {
  const number = (value, min, key, placeholder = "") => {
    const input = h("input", { type: "number", min, step: "1", value: value ?? "", placeholder, class: "narrow" });
    input.addEventListener("change", () => { node[key] = input.value === "" ? null : Math.round(Number(input.value)); onChange(); });
    return input;
  };
  const dates = h("div", { class: "row" });
  const windowSelect = select(WINDOWS, node.window, {});
  const drawWindow = () => {
    if (node.window === "within") replace(dates, field("Days", number(node.within_days, "1", "within_days")));
    else if (node.window === "dates") {
      const from = h("input", { type: "date", value: node.from_date });
      const to = h("input", { type: "date", value: node.to_date });
      from.addEventListener("change", () => { node.from_date = from.value; onChange(); });
      to.addEventListener("change", () => { node.to_date = to.value; onChange(); });
      replace(dates, field("From", from), field("To", to));
    } else replace(dates);
  };
  windowSelect.addEventListener("change", () => { node.window = windowSelect.value; drawWindow(); onChange(); });
  drawWindow();
  const where = h("textarea", { rows: "2", spellcheck: "false", value: node.where, placeholder: 'properties["price"] > 10', id: uid("did-where") });
  where.addEventListener("input", () => { node.where = where.value; onChange(); });
  return h("div", { class: "stack" },
    eventPicker(api, { label: "Event", value: node.event, onChange: (next) => { node.event = next || null; onChange(); } }),
    h("div", { class: "row" },
      field("At least (times)", number(node.at_least, "0", "at_least")),
      field("At most", number(node.at_most, "0", "at_most", "no limit")),
      field("When", windowSelect), dates),
    h("details", { class: "did-where", open: Boolean(node.where) }, h("summary", {}, "Only events where…"), field("Event filter expression", where)));
}
