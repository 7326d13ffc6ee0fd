// A list the user adds pickers to and removes them from: the events hidden from flows, the
// properties a funnel holds constant. The list holds each picker's choice, null until made.

import { h, replace } from "../dom.js";

/**
 * The rows of `list` and the button that adds one; edits `list` in place. `picker(value,
 * index, set)` makes a row's picker, which calls `set(next)` with its choice;
 * `removeLabel(index)` names a row's remove button. Adding a row calls no `onChange`: an
 * empty row changes nothing the report sends.
 */
export function pickerList(list, { picker, removeLabel, addLabel, onChange }) {
  const rows = h("div", { class: "stack" });
  const render = () => replace(rows, list.map((value, index) => h("div", { class: "editor-row" },
    picker(value, index, (next) => { list[index] = next || null; onChange(); }),
    h("button", {
      class: "button icon ghost", type: "button", "aria-label": removeLabel(index), title: "Remove",
      onclick: () => { list.splice(index, 1); render(); onChange(); },
    }, "×"))));
  const add = h("button", { class: "button small ghost", type: "button" }, addLabel);
  add.addEventListener("click", () => {
    list.push(null);
    render();
    rows.lastElementChild?.querySelector("input")?.focus();
  });
  render();
  return [rows, add];
}
