// Retention: of the users who did a first event, how many came back to do a return event in
// each following period (POST /retention). The state lives in the URL.

import { filterEditor, whereField } from "../components/filters.js";
import { propertyPicker } from "../components/pickers.js";
import { reportPage } from "../components/report_page.js";
import { stepEditor } from "../components/step_editor.js";
import { field, h, select } from "../dom.js";
import { ALIGNMENTS, MAX_PERIODS, MEASURES, MODES, TYPES, UNITS, describe, normalize, problem, retentionSpec } from "./retention_query.js";
import { renderRetention } from "./retention_view.js";

function builder(api, state, onChange) {
  const type = select(TYPES, state.retention_type, { name: "retention-type" });
  type.addEventListener("change", () => { state.retention_type = type.value; onChange(); });
  const mode = select(MODES, state.mode, { name: "mode" });
  mode.addEventListener("change", () => { state.mode = mode.value; onChange(); });
  return h("form", { class: "builder", "aria-label": "Retention definition", onsubmit: (e) => e.preventDefault() },
    h("fieldset", { class: "editor" }, h("legend", {}, "Cohorts"),
      stepEditor(api, state.born, { label: "First event", name: "born-event", onChange }),
      field("Cohort by", type)),
    h("fieldset", { class: "editor" }, h("legend", {}, "Coming back"),
      stepEditor(api, state.returning, { label: "Return event", name: "return-event", onChange }),
      field("Counts in a period", mode), ...returnOptions(api, state, onChange)),
    filterEditor(api, state.filters, { onChange, label: "Filters (every event)" }),
    whereField(state, onChange, { id: "retention-where" }));
}

function returnOptions(api, state, onChange) {
  const alignment = select(ALIGNMENTS, state.alignment, { name: "alignment" });
  alignment.addEventListener("change", () => { state.alignment = alignment.value; onChange(); });
  const brackets = h("input", { type: "text", name: "brackets", value: state.brackets || "", placeholder: "1, 2-7, 8-30", "aria-describedby": "brackets-help" });
  brackets.addEventListener("change", () => { state.brackets = brackets.value.trim(); onChange(); });
  const least = h("input", { type: "number", name: "min-returns", min: "1", step: "1", value: state.min_returns, class: "narrow" });
  least.addEventListener("change", () => { state.min_returns = Math.max(1, Math.round(Number(least.value) || 1)); least.value = state.min_returns; onChange(); });
  const property = propertyPicker(api, {
    label: "Measured property", value: state.property, event: () => state.returning.event, name: "measure-property", numeric: true,
    onChange: (next) => { state.property = next; onChange(); },
  });
  property.hidden = state.measure === "users";
  const measure = select(MEASURES, state.measure, { name: "measure" });
  measure.addEventListener("change", () => {
    state.measure = measure.value;
    property.hidden = state.measure === "users";
    onChange();
  });
  return [
    field("Periods are", alignment),
    field("Brackets", brackets),
    h("p", { class: "help", id: "brackets-help" }, "Optional: periods counted together, e.g. “1, 2-7, 8-30”."),
    field("Least returns in a period", least),
    field("Measure", measure),
    property,
  ];
}

export default reportPage({
  id: "retention",
  title: "Retention",
  subtitle: "Of the users who did something, how many came back, period by period",
  normalize,
  problem,
  describe,
  spec: retentionSpec,
  builder,
  render: renderRetention,
  options(state, changed) {
    const unit = select(UNITS, state.unit, { name: "retention-unit" });
    const periods = h("input", { type: "number", name: "periods", min: "1", max: String(MAX_PERIODS[state.unit]), value: state.periods, class: "narrow" });
    unit.addEventListener("change", () => {
      state.unit = unit.value;
      state.periods = Math.min(Number(state.periods) || 1, MAX_PERIODS[state.unit]);
      changed({ toolbar: true });
    });
    periods.addEventListener("change", () => {
      state.periods = Math.round(Number(periods.value));
      changed();
    });
    return [field("Unit", unit), field("Periods", periods)];
  },
});
