// Insights: events over time — metrics, filters, breakdowns, line / bar / table views.
// Runs POST /insights whenever the definition changes; the state lives in the URL.

import { purgeCharts } from "../components/chart.js";
import { rangePicker, timeZonePicker, unitPicker } from "../components/date_range.js";
import { showFreshness } from "../components/freshness.js";
import { reportDays } from "../components/report_state.js";
import { reportActions } from "../components/save_dialog.js";
import { aborted, done, showError, showLoading } from "../components/status.js";
import { debounce, h, replace } from "../dom.js";
import { insightsBuilder } from "./insights_builder.js";
import { insightsSpec, metricLabel, normalize, problem } from "./insights_query.js";
import { renderResult } from "./insights_view.js";

const VIEWS = [["line", "Line"], ["bar", "Bar"], ["table", "Table"]];

/** Run the report of `state` into `resultEl` and its freshness into `freshEl`. */
async function run(api, state, resultEl, freshEl, signal, options = {}) {
  const wrong = problem(state);
  if (wrong) {
    showError(resultEl, new Error(wrong), "The report is not complete");
    return null;
  }
  showLoading(resultEl, "Running the report…");
  const spec = insightsSpec(state, api.project);
  try {
    const result = await api.post("/insights", spec, { signal });
    done(resultEl);
    renderResult(resultEl, result, state, options);
    if (freshEl) showFreshness(freshEl, api, reportDays(state, api.project), signal);
    return result;
  } catch (error) {
    if (!aborted(error)) showError(resultEl, error);
    return null;
  }
}

function mount(root, ctx) {
  const state = normalize(ctx.state);
  const result = h("div", { class: "result", "aria-live": "polite" });
  const fresh = h("p", { class: "freshness" });
  let controller = null;

  const rerun = () => {
    if (controller) controller.abort();
    controller = new AbortController();
    ctx.signal.addEventListener("abort", () => controller.abort(), { once: true });
    run(ctx.api, state, result, fresh, controller.signal);
  };
  const later = debounce(rerun, 250);
  const summary = h("h2", { class: "chart-title" });
  const describe = () => {
    const days = reportDays(state, ctx.project);
    summary.textContent = `${state.metrics.map(metricLabel).join(", ")} · ${days.from_date} to ${days.to_date}`;
  };
  const changed = () => {
    ctx.setState(structuredClone(state));
    describe();
    later();
  };
  describe();

  const viewButtons = VIEWS.map(([value, text]) => {
    const button = h("button", { type: "button", "aria-pressed": String(state.view === value), "data-view": value }, text);
    button.addEventListener("click", () => {
      state.view = value;
      viewButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.view === value)));
      changed();
    });
    return button;
  });
  const toolbar = () => replace(toolbarEl,
    rangePicker(state.range, state.timezone || ctx.project.timezone, (range) => { state.range = range; changed(); }),
    unitPicker(state.unit, (unit) => { state.unit = unit; changed(); }),
    timeZonePicker(state.timezone, ctx.project.timezone, (zone) => { state.timezone = zone; toolbar(); changed(); }),
    h("div", { class: "field view-field" }, h("span", { class: "label", id: "view-label" }, "View"),
      h("div", { class: "segmented", role: "group", "aria-labelledby": "view-label" }, viewButtons)));
  const toolbarEl = h("div", { class: "toolbar row" });
  toolbar();

  ctx.header.setSubtitle(ctx.reportId ? "Saved report" : "Events over time: counts, users, property values");
  ctx.header.setActions(...reportActions(ctx, {
    pageId: "insights",
    kind: "insights",
    getState: () => structuredClone(state),
    defaultName: () => state.metrics.map(metricLabel).join(", "),
  }));
  if (ctx.reportId) {
    ctx.api.get(`/reports/${ctx.reportId}`, null, { signal: ctx.signal })
      .then((saved) => ctx.header.setSubtitle(`Saved report: ${saved.name}`))
      .catch(() => {});
  }

  replace(root, h("div", { class: "report-layout" },
    h("aside", { class: "card builder-panel", "aria-label": "Query builder" },
      h("div", { class: "card-body" }, insightsBuilder(ctx.api, state, changed))),
    h("section", { class: "report-main", "aria-label": "Report" },
      h("div", { class: "card" },
        h("div", { class: "card-body" }, toolbarEl),
        h("div", { class: "card-body chart-body" },
          h("div", { class: "chart-head" }, summary, fresh),
          result)))));
  rerun();
  return () => purgeCharts(root);
}

/** A saved Insights report on a dashboard. */
async function renderTile(el, state, ctx) {
  const full = normalize(state);
  const body = h("div", { class: "tile-result" });
  const fresh = h("p", { class: "freshness" });
  const days = reportDays(full, ctx.api.project);
  const about = `${full.metrics.map(metricLabel).join(", ")} · ${days.from_date} to ${days.to_date} · by ${full.unit}`;
  replace(el, h("p", { class: "tile-meta" }, about), body, fresh);
  await run(ctx.api, full, body, fresh, ctx.signal, { compact: true });
}

export default { id: "insights", title: "Insights", icon: "insights", kind: "insights", mount, renderTile };
