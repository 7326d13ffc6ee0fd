// Funnels: how many users go through a sequence of steps, where they drop off and how long
// they take (POST /funnels). The state lives in the URL; see report_page.js for the frame.

import { reportPage, segmented } from "../components/report_page.js";
import { field, select } from "../dom.js";
import { funnelsBuilder } from "./funnels_builder.js";
import { TREND_UNITS, VIEWS, describe, funnelSpec, normalize, problem } from "./funnels_query.js";
import { renderFunnel } from "./funnels_view.js";

export default reportPage({
  id: "funnels",
  title: "Funnels",
  subtitle: "How many users go through a sequence of steps, and where they drop off",
  normalize,
  problem,
  describe,
  spec: (state, project) => funnelSpec(state, project),
  builder: funnelsBuilder,
  render: renderFunnel,
  options(state, changed) {
    const view = segmented("View", VIEWS, state.view, (value) => {
      state.view = value;
      changed({ toolbar: true });
    });
    if (state.view !== "trend") return [view];
    const unit = select(TREND_UNITS, state.unit, { name: "trend-unit" });
    unit.addEventListener("change", () => { state.unit = unit.value; changed(); });
    return [field("Interval", unit), view];
  },
  // A tile draws the funnel itself, whatever view was saved.
  tileState: (state) => ({ ...state, view: "steps" }),
});
