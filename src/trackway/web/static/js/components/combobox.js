// An accessible autocomplete (ARIA 1.2 combobox with a listbox popup): type to filter,
// arrows to move, Enter to choose, Escape to close. Options load lazily and may be async.

import { h, replace, uid } from "../dom.js";

/**
 * @param {object} o
 * @param {string} o.label        visible label
 * @param {string} o.value        current value ("" for none)
 * @param {(q: string) => Promise<Array<{value, label?, meta?}>>} o.options
 * @param {(value: string) => void} o.onChange  called with the chosen (or typed) value
 * @param {boolean} [o.free]      accept typed text that matches no option (default true)
 * @param {string} [o.placeholder]
 * @param {string} [o.name]       a stable name, used by tests and forms
 */
export function combobox({ label, value = "", options, onChange, free = true, placeholder = "", name = null }) {
  const id = uid("combo");
  const listId = `${id}-list`;
  const input = h("input", {
    type: "text", id, name, role: "combobox", value, placeholder, autocomplete: "off",
    spellcheck: "false", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
  });
  const list = h("ul", { role: "listbox", id: listId, "aria-label": label, hidden: true });
  let items = [];
  let active = -1;
  let committed = value;
  let loadNumber = 0;

  function commit(next) {
    input.value = next;
    close();
    if (next !== committed) {
      committed = next;
      onChange(next);
    }
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    list.querySelectorAll("[role=option]").forEach((el, i) => el.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      const el = list.children[index];
      input.setAttribute("aria-activedescendant", el.id);
      el.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  async function open() {
    const number = ++loadNumber;
    const query = input.value.trim().toLowerCase();
    let found;
    try {
      found = await options(query);
    } catch {
      found = [];
    }
    if (number !== loadNumber || document.activeElement !== input) return;
    items = found.filter((o) => !query || String(o.label ?? o.value).toLowerCase().includes(query)).slice(0, 200);
    replace(list, items.map((o, i) =>
      h("li", {
        role: "option", id: `${id}-opt-${i}`, "aria-selected": "false", "data-value": o.value,
        onmousedown: (event) => { event.preventDefault(); commit(String(o.value)); },
      }, h("span", {}, o.label ?? o.value), o.meta ? h("span", { class: "option-meta" }, o.meta) : null)));
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(items.length > 0));
    highlight(-1);
  }

  input.addEventListener("focus", open);
  input.addEventListener("input", open);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) { open(); return; }
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight(Math.max(0, Math.min(items.length - 1, active + step)));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) commit(String(items[active].value));
      else if (free || items.some((o) => String(o.value) === input.value)) commit(input.value.trim());
    } else if (event.key === "Escape") {
      if (!list.hidden) { event.preventDefault(); close(); }
    }
  });
  input.addEventListener("blur", () => {
    const typed = input.value.trim();
    if (free || typed === "" || items.some((o) => String(o.value) === typed)) commit(typed);
    else input.value = committed;
    close();
  });

  const wrapper = h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "combobox" }, input, list));
  wrapper.input = input;
  return wrapper;
}
