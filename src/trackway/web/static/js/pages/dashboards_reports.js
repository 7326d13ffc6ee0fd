// The saved reports list beside the dashboards: open or delete a saved report.

import { h, toast } from "../dom.js";
import { buildHash } from "../router.js";

export function savedReportsList(ctx, reports, reload) {
  const items = reports.map((r) => {
    const remove = h("button", { class: "button icon ghost", type: "button", "aria-label": `Delete ${r.name}`, title: "Delete report" }, "×");
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Delete the saved report “${r.name}”? It leaves every dashboard too.`)) return;
      try {
        await ctx.api.del(`/reports/${r.report_id}`);
        reload();
      } catch (error) {
        toast(`Not deleted: ${error.message}`);
      }
    });
    const href = buildHash({ projectId: ctx.project.id, page: r.kind, state: r.state, reportId: r.report_id });
    return h("li", { "data-report-id": r.report_id },
      h("a", { href }, r.name), h("span", { class: "badge" }, r.kind), remove);
  });
  return h("div", { class: "saved-reports" }, h("h2", {}, "Saved reports"),
    items.length ? h("ul", {}, items) : h("p", { class: "muted" }, "None yet."));
}
