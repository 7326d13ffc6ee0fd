// Insights: events over time — metrics, filters, breakdowns, line / bar / table views
// (POST /insights). The state lives in the URL; see report_page.js for the frame.

import { unitPicker } from "../components/date_range.js";
import { reportPage, segmented } from "../components/report_page.js";
import { insightsBuilder } from "./insights_builder.js";
import { describe, insightsSpec, normalize, problem } from "./insights_query.js";
import { renderResult } from "./insights_view.js";

const VIEWS = [["line", "Line"], ["bar", "Bar"], ["table", "Table"]];

export default reportPage({
  id: "insights",
  title: "Insights",
  subtitle: "Events over time: counts, users, property values",
  normalize,
  problem,
  // A fresh Insights report runs; what stops one is a mistake in it, said as an error.
  problemTitle: "The report is not complete",
  describe,
  spec: insightsSpec,
  builder: insightsBuilder,
  render: renderResult,
  dateOptions: (state, changed) => unitPicker(state.unit, (unit) => { state.unit = unit; changed(); }),
  options: (state, changed) => [segmented("View", VIEWS, state.view, (value) => { state.view = value; changed(); })],
  tileDetail: (state) => `by ${state.unit}`,
});
