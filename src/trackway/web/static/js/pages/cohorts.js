// Cohorts: saved sets of users with their exact counts (GET /cohorts, /api/2.0/cohorts/list),
// created, edited and deleted by definition, their members listed and exported, and used as
// a filter in the reports. The URL keeps {cohort: id, view: "edit"} or {view: "new"}.

import { forgetCohorts } from "../components/cohort_filter.js";
import { aborted, showError, showLoading } from "../components/status.js";
import { h, replace, toast } from "../dom.js";
import { formatNumber, formatTime } from "../format.js";
import { buildHash } from "../router.js";
import { fromSaved, incomplete, newDefinition, summarize, toDefinition } from "./cohorts_condition.js";
import { cohortEditor } from "./cohorts_editor.js";
import { membersList } from "./cohorts_users.js";

function mount(root, ctx) {
  const listEl = h("section", { class: "card cohort-list", "aria-labelledby": "cohort-list-title" });
  const detailEl = h("section", { class: "card cohort-detail", "aria-live": "polite" });
  let cohorts = [];
  let state = { ...(ctx.state || {}) };

  const go = (next) => {
    state = next;
    ctx.setState(Object.keys(next).length ? next : null, null);
    renderList();
    renderDetail();
  };
  const create = h("button", { class: "button primary", type: "button", onclick: () => go({ view: "new" }) }, "New cohort");
  ctx.header.setActions(create);
  ctx.header.setSubtitle("Saved sets of users, evaluated exactly whenever they are used");

  async function load() {
    showLoading(listEl, "Loading cohorts…");
    try {
      const [saved, listed] = await Promise.all([
        ctx.api.get("/cohorts", null, { signal: ctx.signal }),
        ctx.api.get("/api/2.0/cohorts/list", null, { signal: ctx.signal }),
      ]);
      const counts = new Map(listed.map((c) => [c.id, c.count]));
      cohorts = saved.cohorts.map((c) => ({ ...c, count: counts.get(c.cohort_id) ?? null }));
    } catch (error) {
      if (!aborted(error)) showError(listEl, error, "Cohorts could not load");
      return;
    }
    renderList();
    renderDetail();
  }

  function renderList() {
    const selected = Number(state.cohort) || null;
    replace(listEl,
      h("div", { class: "card-head" }, h("h2", { id: "cohort-list-title" }, "Saved cohorts"), h("span", { class: "hint" }, `${cohorts.length} saved`)),
      cohorts.length
        ? h("div", { class: "scroll" }, h("table", { class: "data-table", "data-table": "cohorts" },
          h("caption", { class: "visually-hidden" }, "Saved cohorts and their members now"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Cohort"), h("th", { scope: "col", class: "num" }, "Members"))),
          h("tbody", {}, cohorts.map((c) => h("tr", { "data-cohort-id": c.cohort_id, class: c.cohort_id === selected ? "selected" : null },
            h("th", { scope: "row" },
              h("button", { class: "link", type: "button", "aria-current": c.cohort_id === selected ? "true" : null, onclick: () => go({ cohort: c.cohort_id }) }, c.name),
              h("div", { class: "cohort-summary" }, summarize(c.condition))),
            h("td", { class: "num", "data-count": c.count ?? "" }, formatNumber(c.count)))))))
        : h("div", { class: "status empty" }, "No cohort yet. Create one with “New cohort”, or save one from a funnel’s drop-offs."));
  }

  function renderDetail() {
    const cohort = cohorts.find((c) => c.cohort_id === Number(state.cohort));
    if (state.view === "new" || (state.view === "edit" && cohort)) {
      const definition = cohort ? fromSaved(cohort) : newDefinition();
      replace(detailEl, h("div", { class: "card-body" }, cohortEditor(ctx.api, definition, {
        selfId: cohort ? cohort.cohort_id : null,
        title: cohort ? `Edit ${cohort.name}` : "New cohort",
        onCancel: () => go(cohort ? { cohort: cohort.cohort_id } : {}),
        onSave: async () => {
          const missing = !definition.name.trim() ? "Give the cohort a name." : incomplete(definition.root);
          if (missing) throw new Error(missing);
          const body = toDefinition(definition);
          const saved = cohort
            ? await ctx.api.put(`/cohorts/${cohort.cohort_id}`, body)
            : await ctx.api.post("/cohorts", body);
          forgetCohorts();
          toast(`Saved “${saved.name}”`);
          state = { cohort: saved.cohort_id };
          ctx.setState(state, null);
          await load();
        },
      })));
      detailEl.querySelector("#cohort-name")?.focus();
      return;
    }
    if (!cohort) {
      replace(detailEl, h("div", { class: "status empty" }, cohorts.length ? "Choose a cohort to see its members." : "Cohorts you create show here."));
      return;
    }
    const members = h("div", { class: "members" });
    const filterLink = buildHash({ projectId: ctx.project.id, page: "insights", state: { filters: [{ cohort: cohort.cohort_id, negate: false }] } });
    const remove = h("button", { class: "button danger small", type: "button" }, "Delete");
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Delete the cohort “${cohort.name}”?`)) return;
      try {
        await ctx.api.del(`/cohorts/${cohort.cohort_id}`);
        forgetCohorts();
        state = {};
        ctx.setState(null, null);
        await load();
      } catch (error) {
        toast(`Not deleted: ${error.message}`);
      }
    });
    replace(detailEl,
      h("div", { class: "card-head" },
        h("div", {}, h("h2", { id: "cohort-title" }, cohort.name),
          h("p", { class: "muted" }, cohort.description || summarize(cohort.condition))),
        h("div", { class: "row" },
          h("a", { class: "button small", href: filterLink }, "Filter Insights by it"),
          h("button", { class: "button small", type: "button", onclick: () => go({ cohort: cohort.cohort_id, view: "edit" }) }, "Edit"),
          remove)),
      h("div", { class: "card-body stack" },
        h("dl", { class: "stats" },
          h("dt", {}, "Members now"), h("dd", { "data-count": cohort.count ?? "" }, formatNumber(cohort.count)),
          h("dt", {}, "Cohort id"), h("dd", {}, h("code", {}, `cohort(${cohort.cohort_id})`)),
          h("dt", {}, "Updated"), h("dd", {}, formatTime(cohort.updated_ms, ctx.project.timezone || "UTC", false))),
        members));
    membersList(members, ctx, cohort);
  }

  replace(root, h("div", { class: "cohorts-layout" }, listEl, detailEl));
  load();
}

export default { id: "cohorts", title: "Cohorts", icon: "cohorts", kind: null, mount };
