// Flows: what users do after (or before) an event, as a Sankey of their paths
// (POST /flows). The state lives in the URL.

import { filterEditor, whereField } from "../components/filters.js";
import { pickerList } from "../components/picker_list.js";
import { eventPicker, propertyPicker } from "../components/pickers.js";
import { reportPage, segmented } from "../components/report_page.js";
import { stepEditor } from "../components/step_editor.js";
import { field, h, select } from "../dom.js";
import { COUNTINGS, DIRECTIONS, MAX_STEPS, describe, flowsSpec, normalize, problem } from "./flows_query.js";
import { renderFlows } from "./flows_view.js";

function builder(api, state, onChange) {
  const hidden = pickerList(state.hide, {
    picker: (name, index, set) => eventPicker(api, { label: `Hidden event ${index + 1}`, value: name, allowAll: false, name: `hide-${index}`, onChange: set }),
    removeLabel: (index) => `Show hidden event ${index + 1} again`,
    addLabel: "+ Hide an event",
    onChange,
  });
  const collapse = h("input", { type: "checkbox", id: "collapse-repeats", name: "collapse_repeats", checked: Boolean(state.collapse_repeats) });
  collapse.addEventListener("change", () => { state.collapse_repeats = collapse.checked; onChange(); });
  const counting = select(COUNTINGS, state.counting, { name: "counting" });
  counting.addEventListener("change", () => { state.counting = counting.value; onChange(); });
  const top = select([4, 6, 8, 10, 15].map((n) => [String(n), `${n} events`]), String(state.top), { name: "top" });
  top.addEventListener("change", () => { state.top = Number(top.value); onChange(); });
  return h("form", { class: "builder", "aria-label": "Flows definition", onsubmit: (e) => e.preventDefault() },
    h("fieldset", { class: "editor" }, h("legend", {}, "Anchor"),
      stepEditor(api, state.anchor, { label: "Anchor event", name: "anchor-event", onChange }),
      field("Paths from", counting),
      propertyPicker(api, {
        label: "Breakdown", value: state.breakdown, event: () => state.anchor.event, name: "breakdown",
        onChange: (next) => { state.breakdown = next; onChange(); },
      })),
    h("fieldset", { class: "editor" }, h("legend", {}, "End (paths after the anchor)"),
      h("p", { class: "help" }, "Optional: only paths that reach this event, up to it."),
      stepEditor(api, state.end, { label: "End event", name: "end-event", onChange })),
    h("fieldset", { class: "editor" }, h("legend", {}, "Paths"),
      h("div", { class: "check" }, collapse, h("label", { for: "collapse-repeats" }, "Collapse repeated events")),
      field("Events shown per step", top),
      h("p", { class: "help" }, "Hidden events are left out of the paths."), hidden),
    filterEditor(api, state.filters, { onChange, label: "Filters (every event)" }),
    whereField(state, onChange, { id: "flows-where" }));
}

export default reportPage({
  id: "flows",
  title: "Flows",
  subtitle: "What users do after or before an event: the paths they take",
  normalize,
  problem,
  describe,
  spec: flowsSpec,
  builder,
  render: renderFlows,
  options(state, changed) {
    const steps = select(Array.from({ length: MAX_STEPS }, (_, i) => [String(i + 1), String(i + 1)]), String(state.steps), { name: "steps" });
    steps.addEventListener("change", () => { state.steps = Number(steps.value); changed(); });
    const direction = segmented("Direction", DIRECTIONS, state.direction, (value) => {
      state.direction = value;
      changed();
    });
    return [field("Steps", steps), direction];
  },
});
