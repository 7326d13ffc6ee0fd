// "Count: Users | Groups by [property]": what every report counts. The state's `group` is
// null (users) or the event property whose values are the groups; the spec's `group`
// follows (docs/identity.md#groups).

import { h } from "../dom.js";
import { propertyPicker } from "./pickers.js";

/** The control; edits `state.group` in place and calls `onChange` after a change. */
export function countBy(api, state, onChange) {
  let byGroups = Boolean(state.group);
  const picker = propertyPicker(api, {
    label: "Group property", value: state.group, name: "group",
    onChange: (next) => {
      state.group = next || null;
      onChange();
    },
  });
  const by = h("div", { class: "group-by" }, picker);
  const buttons = [["users", "Users"], ["groups", "Groups"]].map(([value, text]) => {
    const button = h("button", { type: "button", "data-count-by": value, "aria-pressed": String((value === "groups") === byGroups) }, text);
    button.addEventListener("click", () => {
      byGroups = value === "groups";
      buttons.forEach((b) => b.setAttribute("aria-pressed", String((b.dataset.countBy === "groups") === byGroups)));
      by.hidden = !byGroups;
      if (byGroups) {
        by.querySelector("input")?.focus();
        return; // counted by groups once a property is chosen
      }
      if (state.group) {
        state.group = null;
        by.querySelector("input").value = "";
        onChange();
      }
    });
    return button;
  });
  by.hidden = !byGroups;
  return h("fieldset", { class: "editor count-by" }, h("legend", {}, "Count"),
    h("div", { class: "segmented", role: "group", "aria-label": "Count users or groups" }, buttons), by);
}

/** The unit the state counts: "users" or "groups". */
export function unitWord(state) {
  return state && state.group ? "groups" : "users";
}

/** The spec's `group` field: {group} or {}. */
export function groupSpec(state) {
  return state.group ? { group: state.group } : {};
}
