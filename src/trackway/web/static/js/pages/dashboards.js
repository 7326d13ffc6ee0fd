// Dashboards: named lists of saved reports, each drawn by its page's renderTile
// (GET/POST/PUT/DELETE /dashboards and /reports).

import { purgeCharts } from "../components/chart.js";
import { askName } from "../components/save_dialog.js";
import { showError, showLoading } from "../components/status.js";
import { h, replace, toast } from "../dom.js";
import { buildHash } from "../router.js";
import { savedReportsList } from "./dashboards_reports.js";

function mount(root, ctx) {
  const listEl = h("nav", { class: "dash-list", "aria-label": "Dashboards" });
  const reportsEl = h("div", {});
  const mainEl = h("section", { class: "dash-main", "aria-live": "polite" });
  let dashboards = [];
  let reports = [];
  let selected = ctx.state && ctx.state.dashboard ? Number(ctx.state.dashboard) : null;

  const create = h("button", { class: "button primary", type: "button" }, "New dashboard");
  create.addEventListener("click", async () => {
    const answer = await askName({ title: "New dashboard", name: "" });
    if (!answer) return;
    try {
      const made = await ctx.api.post("/dashboards", { name: answer.name, report_ids: [] });
      select(made.dashboard_id);
      await load();
    } catch (error) {
      toast(`Not created: ${error.message}`);
    }
  });
  ctx.header.setActions(create);
  ctx.header.setSubtitle("Saved reports side by side");

  function select(id) {
    selected = id;
    ctx.setState(id ? { dashboard: id } : null, null);
  }

  async function load() {
    showLoading(mainEl);
    try {
      [dashboards, reports] = await Promise.all([
        ctx.api.get("/dashboards", null, { signal: ctx.signal }).then((a) => a.dashboards),
        ctx.api.get("/reports", null, { signal: ctx.signal }).then((a) => a.reports),
      ]);
    } catch (error) {
      if (error.name !== "AbortError") showError(mainEl, error, "Dashboards could not load");
      return;
    }
    if (!dashboards.some((d) => d.dashboard_id === selected)) select(dashboards[0]?.dashboard_id ?? null);
    renderList();
    replace(reportsEl, savedReportsList(ctx, reports, load));
    renderDashboard();
  }

  function renderList() {
    replace(listEl, h("h2", {}, "Dashboards"), dashboards.length
      ? h("ul", {}, dashboards.map((d) => h("li", {},
        h("a", {
          href: buildHash({ projectId: ctx.project.id, page: "dashboards", state: { dashboard: d.dashboard_id } }),
          "aria-current": d.dashboard_id === selected ? "page" : null,
          onclick: (event) => { event.preventDefault(); select(d.dashboard_id); renderList(); renderDashboard(); },
        }, d.name, h("span", { class: "muted" }, ` (${d.report_ids.length})`)))))
      : h("p", { class: "muted" }, "No dashboard yet."));
  }

  function renderDashboard() {
    purgeCharts(mainEl);
    const dashboard = dashboards.find((d) => d.dashboard_id === selected);
    if (!dashboard) {
      replace(mainEl, h("div", { class: "card" }, h("div", { class: "status empty" },
        "Create a dashboard, then add saved reports to it. Save a report from its page with “Save report”.")));
      return;
    }
    const unused = reports.filter((r) => !dashboard.report_ids.includes(r.report_id));
    const picker = h("select", { id: "add-report", name: "add-report" },
      unused.map((r) => h("option", { value: r.report_id }, `${r.name} (${r.kind})`)));
    const add = h("button", { class: "button", type: "button", disabled: !unused.length }, "Add to dashboard");
    add.addEventListener("click", () => update(dashboard, [...dashboard.report_ids, Number(picker.value)]));
    const remove = h("button", { class: "button danger", type: "button" }, "Delete dashboard");
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Delete the dashboard “${dashboard.name}”? Its reports stay saved.`)) return;
      await ctx.api.del(`/dashboards/${dashboard.dashboard_id}`);
      select(null);
      load();
    });
    const tiles = h("div", { class: "tiles" });
    replace(mainEl,
      h("div", { class: "dash-head" }, h("h2", {}, dashboard.name),
        h("div", { class: "row" },
          unused.length ? h("div", { class: "field" }, h("label", { for: "add-report" }, "Saved report"), picker) : null,
          add, remove)),
      tiles);
    if (!dashboard.report_ids.length) {
      replace(tiles, h("div", { class: "card" }, h("div", { class: "status empty" }, "This dashboard has no report yet.")));
    }
    for (const id of dashboard.report_ids) {
      const report = reports.find((r) => r.report_id === id);
      if (report) tiles.append(tile(ctx, report, () => update(dashboard, dashboard.report_ids.filter((x) => x !== id))));
    }
  }

  async function update(dashboard, reportIds) {
    try {
      await ctx.api.put(`/dashboards/${dashboard.dashboard_id}`, { name: dashboard.name, report_ids: reportIds });
      await load();
    } catch (error) {
      toast(`Not changed: ${error.message}`);
    }
  }

  replace(root, h("div", { class: "dash-layout" }, h("aside", { class: "card dash-side" }, listEl, reportsEl), mainEl));
  load();
  return () => purgeCharts(root);
}

function tile(ctx, report, removeFromDashboard) {
  const page = ctx.pages.find((p) => p.kind === report.kind && p.renderTile);
  const body = h("div", { class: "tile-body" });
  const link = h("a", { href: buildHash({ projectId: ctx.project.id, page: report.kind, state: report.state, reportId: report.report_id }) }, report.name);
  const remove = h("button", { class: "button icon ghost", type: "button", "aria-label": `Remove ${report.name} from the dashboard`, title: "Remove from dashboard" }, "×");
  remove.addEventListener("click", removeFromDashboard);
  const el = h("article", { class: "card tile", "data-report-id": report.report_id },
    h("div", { class: "card-head" }, h("h3", { class: "tile-title" }, link),
      h("div", { class: "row" }, h("span", { class: "badge" }, report.kind), remove)),
    body);
  if (page) {
    page.renderTile(body, report.state, ctx).catch((error) => showError(body, error));
  } else {
    replace(body, h("div", { class: "status empty" }, `${report.kind} reports show here once their page is built.`));
  }
  return el;
}

export default { id: "dashboards", title: "Dashboards", icon: "dashboards", kind: null, mount };
