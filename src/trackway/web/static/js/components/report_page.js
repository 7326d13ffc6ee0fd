// The frame every report page shares (Insights, funnels, retention, flows): the builder
// beside the result, a toolbar of dates and options, the chart's title with its freshness
// badge, a debounced run after every change, Save / Copy link, and the dashboard tile.
//
// A report is described by an object:
//   id             the page id, which is also its icon, its saved-report kind and its API route
//   title          the page's name in the navigation
//   subtitle       the page header's line
//   normalize(s)   a complete state from the URL's or a saved report's (links stay valid)
//   problem(s)     why the state cannot run yet (shown as a hint), or null
//   spec(s, p)     the body of POST /{id} for project p
//   describe(s)    a one-line title of the report
//   builder(api, s, changed)   the builder panel's form (under the shared Count control)
//   options(s, changed)        extra toolbar controls after the time zone (an array, may be empty)
//   render(el, result, s, view) draw the result; view = {api, spec, signal} and, on the page,
//                  ctx, or on a dashboard tile, compact: true
// and, optionally, where a page needs more:
//   dateOptions(s, changed)    toolbar controls between the date range and the time zone
//   problemTitle   show problem(s) as an error under this title rather than as a hint
//   tileState(s)   the state a dashboard tile runs, when it differs from the saved one
//   tileDetail(s)  what a tile's line adds after the report's dates

import { debounce, h, replace } from "../dom.js";
import { purgeCharts } from "./chart.js";
import { countBy } from "./count_by.js";
import { rangePicker, timeZonePicker } from "./date_range.js";
import { showFreshness } from "./freshness.js";
import { reportDays } from "./report_state.js";
import { reportActions } from "./save_dialog.js";
import { aborted, done, showEmpty, showError, showLoading } from "./status.js";

/** The page module (pages/index.js) of a report. */
export function reportPage(report) {
  return {
    id: report.id,
    title: report.title,
    icon: report.id,
    kind: report.id,
    mount: (root, ctx) => mountReport(root, ctx, report),
    renderTile: (el, state, ctx) => renderReportTile(report, el, state, ctx),
  };
}

/** Run the report of `state` into `resultEl`, and its freshness into `freshEl`. */
export async function runReport(report, api, state, resultEl, freshEl, signal, view = {}) {
  const wrong = report.problem(state);
  if (wrong && report.problemTitle) {
    // Said like a run that failed, so the last run's freshness stays beside it.
    showError(resultEl, new Error(wrong), report.problemTitle);
    return null;
  }
  if (wrong) {
    showEmpty(resultEl, wrong);
    if (freshEl) replace(freshEl);
    return null;
  }
  showLoading(resultEl, "Running the report…");
  const spec = report.spec(state, api.project);
  try {
    const result = await api.post(`/${report.id}`, spec, { signal });
    done(resultEl);
    purgeCharts(resultEl);
    report.render(resultEl, result, state, { ...view, api, spec, signal });
    if (freshEl) showFreshness(freshEl, api, reportDays(state, api.project), signal);
    return result;
  } catch (error) {
    if (!aborted(error)) showError(resultEl, error);
    return null;
  }
}

/** A group of toggle buttons; `onChange(value)` after a press. */
export function segmented(label, options, value, onChange, name = null) {
  const id = `${name || label.toLowerCase().replaceAll(" ", "-")}-label`;
  const buttons = options.map(([optionValue, text]) => {
    const button = h("button", { type: "button", "aria-pressed": String(value === optionValue), "data-value": optionValue }, text);
    button.addEventListener("click", () => {
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === optionValue)));
      onChange(optionValue);
    });
    return button;
  });
  return h("div", { class: "field view-field" }, h("span", { class: "label", id }, label),
    h("div", { class: "segmented", role: "group", "aria-labelledby": id }, buttons));
}

/** "{title} · {from} to {to}": the report and its dates, as the chart and tiles head them. */
function heading(report, state, project) {
  const days = reportDays(state, project);
  return `${report.describe(state)} · ${days.from_date} to ${days.to_date}`;
}

/** Mount a report page into `root`; returns the cleanup. */
export function mountReport(root, ctx, report) {
  const state = report.normalize(ctx.state);
  const result = h("div", { class: "result", "aria-live": "polite" });
  const fresh = h("p", { class: "freshness" });
  const summary = h("h2", { class: "chart-title" });
  let controller = null;

  const rerun = () => {
    if (controller) controller.abort();
    controller = new AbortController();
    ctx.signal.addEventListener("abort", () => controller.abort(), { once: true });
    runReport(report, ctx.api, state, result, fresh, controller.signal, { ctx });
  };
  const later = debounce(rerun, 250);
  const describe = () => { summary.textContent = heading(report, state, ctx.project); };
  function changed({ toolbar: redraw = false } = {}) {
    ctx.setState(structuredClone(state));
    describe();
    if (redraw) toolbar();
    later();
  }
  const toolbarEl = h("div", { class: "toolbar row" });
  const toolbar = () => {
    // Redrawn controls keep the keyboard focus where it was.
    const active = toolbarEl.contains(document.activeElement) ? document.activeElement : null;
    const key = active && (active.name ? `[name="${active.name}"]` : active.dataset.value ? `[data-value="${active.dataset.value}"]` : null);
    replace(toolbarEl,
      rangePicker(state.range, state.timezone || ctx.project.timezone, (range) => { state.range = range; changed(); }),
      report.dateOptions ? report.dateOptions(state, changed) : null,
      timeZonePicker(state.timezone, ctx.project.timezone, (zone) => { state.timezone = zone; changed({ toolbar: true }); }),
      report.options(state, changed));
    if (key) toolbarEl.querySelector(key)?.focus();
  };
  toolbar();
  describe();

  ctx.header.setSubtitle(ctx.reportId ? "Saved report" : report.subtitle);
  ctx.header.setActions(...reportActions(ctx, {
    pageId: report.id,
    kind: report.id,
    getState: () => structuredClone(state),
    getDefinition: () => definitionOf(report, state, ctx.project),
    defaultName: () => report.describe(state),
  }));
  if (ctx.reportId) {
    ctx.api.get(`/reports/${ctx.reportId}`, null, { signal: ctx.signal })
      .then((saved) => ctx.header.setSubtitle(`Saved report: ${saved.name}`))
      .catch(() => {});
  }

  replace(root, h("div", { class: "report-layout" },
    h("aside", { class: "card builder-panel", "aria-label": "Query builder" },
      h("div", { class: "card-body" }, countBy(ctx.api, state, changed), report.builder(ctx.api, state, changed))),
    h("section", { class: "report-main", "aria-label": "Report" },
      h("div", { class: "card" },
        h("div", { class: "card-body" }, toolbarEl),
        h("div", { class: "card-body chart-body" },
          h("div", { class: "chart-head" }, summary, fresh),
          result)))));
  rerun();
  return () => purgeCharts(root);
}

/** A saved report of this kind on a dashboard. */
export async function renderReportTile(report, el, saved, ctx) {
  const normal = report.normalize(saved);
  const state = report.tileState ? report.tileState(normal) : normal;
  const body = h("div", { class: "tile-result" });
  const fresh = h("p", { class: "freshness" });
  const detail = report.tileDetail ? ` · ${report.tileDetail(state)}` : "";
  replace(el, h("p", { class: "tile-meta" }, heading(report, state, ctx.api.project) + detail), body, fresh);
  await runReport(report, ctx.api, state, body, fresh, ctx.signal, { compact: true });
}


/** What a saved report of this state runs: its spec without the dates, which each run
 * brings (null while the report cannot run yet). */
function definitionOf(report, state, project) {
  if (report.problem(state)) return null;
  const { from_date: _from, to_date: _to, ...definition } = report.spec(state, project);
  return definition;
}
