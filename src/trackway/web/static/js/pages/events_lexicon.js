// The lexicon: event names with counts; an event's properties with their types; a
// property's top values (GET /schema/events, /schema/properties, /schema/values).

import { eventNames, forgetSchema, properties, topValues } from "../components/schema.js";
import { showError, showLoading } from "../components/status.js";
import { h, replace } from "../dom.js";
import { formatNumber } from "../format.js";

/** The lexicon card; its `refresh()` reloads what it shows. */
export function lexicon(api) {
  const eventsEl = h("div", { class: "lexicon-col" });
  const propsEl = h("div", { class: "lexicon-col" });
  const valuesEl = h("div", { class: "lexicon-col" });
  let event = null;

  async function showEvents(focus = false) {
    if (!eventsEl.firstChild) showLoading(eventsEl);
    try {
      const found = await eventNames(api);
      const all = { name: null, count: found.reduce((sum, e) => sum + e.count, 0) };
      replace(eventsEl, listTable("Events", "Event", [all, ...found].map((e) => ({
        key: e.name, label: e.name ?? "All events", count: e.count, selected: e.name === event,
        onclick: () => { event = e.name; showEvents(true); showProperties(); },
      }))));
      // Keep the keyboard where it was: on the chosen event's button.
      if (focus) eventsEl.querySelector("tr.selected button")?.focus();
    } catch (error) {
      showError(eventsEl, error, "Events could not load");
    }
  }

  async function showProperties() {
    showLoading(propsEl);
    replace(valuesEl, h("p", { class: "muted pad" }, "Choose a property to see its top values."));
    try {
      const found = await properties(api, event);
      replace(propsEl, listTable(`Properties of ${event ?? "all events"}`, "Property", found.map((p) => ({
        key: p.name, label: p.name, count: p.count, types: p.types,
        onclick: (rowEl) => {
          propsEl.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
          rowEl.classList.add("selected");
          showValues(p.name);
        },
      }))));
    } catch (error) {
      showError(propsEl, error, "Properties could not load");
    }
  }

  async function showValues(name) {
    showLoading(valuesEl);
    try {
      const found = await topValues(api, name, event);
      replace(valuesEl, listTable(`Top values of ${name}`, "Value", found.map((v) => ({
        key: String(v.value), label: typeof v.value === "string" ? v.value : JSON.stringify(v.value), count: v.count,
      }))));
    } catch (error) {
      showError(valuesEl, error, "Values could not load");
    }
  }

  function refresh() {
    forgetSchema();
    showEvents();
    showProperties();
  }

  showEvents();
  showProperties();
  const reload = h("button", { class: "button small", type: "button", onclick: refresh }, "Refresh");
  const card = h("section", { class: "card", "aria-labelledby": "lexicon-title" },
    h("div", { class: "card-head" },
      h("div", {}, h("h2", { id: "lexicon-title" }, "Lexicon"),
        h("p", { class: "hint" }, "What this project's events look like over the last 31 days.")),
      reload),
    h("div", { class: "lexicon" }, eventsEl, propsEl, valuesEl));
  card.refresh = refresh;
  return card;
}

function listTable(caption, what, rows) {
  if (!rows.length) return h("p", { class: "muted pad" }, `No ${what.toLowerCase()}s seen yet.`);
  return h("div", { class: "scroll lexicon-scroll" },
    h("table", { class: "data-table" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, what), h("th", { scope: "col", class: "num" }, "Events"))),
      h("tbody", {}, rows.map((r) => {
        const label = r.onclick ? h("button", { class: "link", type: "button" }, r.label) : r.label;
        const tr = h("tr", { class: r.selected ? "selected" : null, "data-key": r.key ?? "" },
          h("td", {}, label, r.types ? r.types.map((t) => h("span", { class: "badge type" }, t)) : null),
          h("td", { class: "num" }, formatNumber(r.count)));
        if (r.onclick) label.addEventListener("click", () => r.onclick(tr));
        return tr;
      }))));
}
