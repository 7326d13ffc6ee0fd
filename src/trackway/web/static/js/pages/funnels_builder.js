// The Funnels builder: steps with their own filters, order, conversion window, counting,
// exclusions, properties held constant, global filters and breakdowns. It edits the state in
// place and calls `onChange` after every edit.

import { breakdownEditor, filterEditor, whereField } from "../components/filters.js";
import { pickerList } from "../components/picker_list.js";
import { propertyPicker } from "../components/pickers.js";
import { newStep, stepEditor } from "../components/step_editor.js";
import { field, h, replace, select } from "../dom.js";
import { COUNTINGS, MAX_STEPS, ORDERS, WINDOW_UNITS } from "./funnels_query.js";

export function funnelsBuilder(api, state, onChange) {
  const steps = h("div", { class: "stack steps" });
  const addStep = h("button", { class: "button small ghost", type: "button" }, "+ Add step");
  const renderSteps = () => {
    replace(steps, state.steps.map((step, index) => stepEditor(api, step, {
      label: `Step ${index + 1}`,
      name: `step-${index + 1}`,
      badge: String(index + 1),
      allowAll: false,
      onChange,
      onRemove: state.steps.length > 2 ? () => {
        state.steps.splice(index, 1);
        state.anchors = state.anchors.filter((n) => n !== index + 1).map((n) => (n > index + 1 ? n - 1 : n));
        renderSteps();
        renderExclusions();
        onChange();
      } : null,
    })));
    addStep.hidden = state.steps.length >= MAX_STEPS;
    renderAnchors();
  };
  const anchors = h("fieldset", { class: "editor anchors" });
  const renderAnchors = () => {
    anchors.hidden = state.order !== "any";
    replace(anchors, h("legend", {}, "Steps that stay in place"),
      h("p", { class: "help" }, "In any order, the steps between these happen in any order; these keep their place."),
      state.steps.map((_, index) => {
        const id = `anchor-${index + 1}`;
        const box = h("input", { type: "checkbox", id, name: id, checked: state.anchors.includes(index + 1) });
        box.addEventListener("change", () => {
          state.anchors = state.anchors.filter((n) => n !== index + 1 && n <= state.steps.length);
          if (box.checked) state.anchors.push(index + 1);
          state.anchors.sort((a, b) => a - b);
          onChange();
        });
        return h("div", { class: "check" }, box, h("label", { for: id }, `Step ${index + 1} stays in place`));
      }));
  };
  addStep.addEventListener("click", () => {
    state.steps.push(newStep());
    renderSteps();
    renderExclusions();
    onChange();
    steps.lastElementChild?.querySelector("input")?.focus();
  });

  const exclusions = h("div", { class: "stack" });
  const renderExclusions = () => replace(exclusions, state.exclusions.map((exclusion, index) =>
    stepEditor(api, exclusion, {
      label: `Exclusion ${index + 1}`,
      name: `exclusion-${index + 1}`,
      allowAll: false,
      onChange,
      onRemove: () => { state.exclusions.splice(index, 1); renderExclusions(); onChange(); },
      extra: between(state, exclusion, onChange),
    })));
  const addExclusion = h("button", { class: "button small ghost", type: "button" }, "+ Add exclusion");
  addExclusion.addEventListener("click", () => {
    state.exclusions.push({ ...newStep(), after_step: 1, before_step: null });
    renderExclusions();
    exclusions.lastElementChild?.querySelector("input")?.focus();
  });

  const held = pickerList(state.hold_constant, {
    picker: (name, index, set) => propertyPicker(api, {
      label: "Same value on every step", value: name, event: () => state.steps[0].event, name: `hold-${index}`, onChange: set,
    }),
    removeLabel: () => "Remove held property",
    addLabel: "+ Hold a property constant",
    onChange,
  });

  renderSteps();
  renderExclusions();

  return h("form", { class: "builder", "aria-label": "Funnel definition", onsubmit: (e) => e.preventDefault() },
    h("fieldset", { class: "editor" }, h("legend", {}, "Steps"), steps, addStep),
    h("fieldset", { class: "editor" }, h("legend", {}, "Conversion"), conversionFields(state, onChange, () => renderAnchors()), anchors),
    h("fieldset", { class: "editor" }, h("legend", {}, "Exclusions"),
      h("p", { class: "help" }, "Attempts with one of these events between the steps do not count."), exclusions, addExclusion),
    h("fieldset", { class: "editor" }, h("legend", {}, "Hold constant"), held),
    filterEditor(api, state.filters, { onChange, label: "Filters (every event)" }),
    whereField(state, onChange, { id: "funnel-where" }),
    breakdownEditor(api, state.breakdowns, { event: () => state.steps[0].event, onChange, max: 2 }));
}

function conversionFields(state, onChange, orderChanged) {
  const order = select(ORDERS, state.order, { name: "order" });
  order.addEventListener("change", () => { state.order = order.value; orderChanged(); onChange(); });
  const length = h("input", { type: "number", name: "window-length", min: "1", step: "1", value: state.window.length, class: "narrow" });
  length.addEventListener("change", () => { state.window.length = Math.max(1, Math.round(Number(length.value) || 1)); length.value = state.window.length; onChange(); });
  const unit = select(WINDOW_UNITS, state.window.unit, { name: "window-unit", "aria-label": "Window unit" });
  unit.addEventListener("change", () => { state.window.unit = unit.value; onChange(); });
  const counting = select(COUNTINGS, state.counting, { name: "counting" });
  counting.addEventListener("change", () => { state.counting = counting.value; onChange(); });
  return [
    field("Order", order),
    h("div", { class: "row window" }, field("Conversion window", length), unit),
    field("Count", counting),
  ];
}

/** "between step a and step b" of an exclusion. */
function between(state, exclusion, onChange) {
  const n = state.steps.length;
  const numbers = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => [String(from + i), `step ${from + i}`]);
  const after = select(numbers(1, n - 1), String(exclusion.after_step || 1), { name: "after-step" });
  const before = select(numbers(2, n), String(exclusion.before_step || n), { name: "before-step" });
  const update = () => {
    exclusion.after_step = Number(after.value);
    exclusion.before_step = Number(before.value) === n ? null : Number(before.value);
    onChange();
  };
  after.addEventListener("change", update);
  before.addEventListener("change", update);
  return h("div", { class: "row between" }, field("After", after), field("Before", before));
}
