// Who dropped off: the users whose counted attempt reached step k and not step k+1 (for the
// last step: who converted), paged through the spec's `drop_offs`, and saved as a cohort.
//
// The cohort lists the users by id ({"users": [...]}, docs/cohorts.md). A definition by
// events, such as all[did A, not did B], would not be exact: it cannot say "in this order,
// within the conversion window, starting in the date range", nor apply exclusions or held
// properties, so it would hold other users than the funnel shows.

import { forgetCohorts } from "../components/cohort_filter.js";
import { askName } from "../components/save_dialog.js";
import { aborted, showError, showLoading } from "../components/status.js";
import { h, replace, toast } from "../dom.js";
import { formatNumber } from "../format.js";
import { buildHash } from "../router.js";

const PAGE = 50;
const MAX_LISTED = 100_000; // what one `users` condition holds

/** Fill `panel` with the drop-offs after `step`, from `offset`. */
export async function dropOffPanel(panel, { ctx, api, spec, state, result, step, offset = 0 }) {
  const steps = result.steps;
  const last = step === steps.length;
  const title = last
    ? `Converted: reached step ${step}, ${steps[step - 1].label}`
    : `Dropped off after step ${step}: reached ${steps[step - 1].label}, not ${steps[step].label}`;
  const heading = h("h3", { class: "panel-title", tabindex: "-1", id: "drop-off-title" }, title);
  const body = h("div", { class: "panel-body", "aria-live": "polite" });
  const close = h("button", { class: "button small ghost", type: "button", onclick: () => replace(panel) }, "Close");
  replace(panel, h("section", { class: "panel", "aria-labelledby": "drop-off-title" },
    h("div", { class: "panel-head" }, heading, close), body));
  heading.focus();
  panel.scrollIntoView({ block: "nearest" });
  showLoading(body, "Listing the users…");
  let page;
  try {
    const answer = await api.post("/funnels", dropSpec(spec, step, offset, PAGE), { signal: ctx.signal });
    page = answer.drop_offs;
  } catch (error) {
    if (!aborted(error)) showError(body, error, "The users could not be listed");
    return;
  }
  const move = (to) => dropOffPanel(panel, { ctx, api, spec, state, result, step, offset: to });
  const end = Math.min(page.offset + page.users.length, page.total);
  const pager = h("div", { class: "row pager" },
    h("span", { class: "muted", "data-total": page.total },
      page.total ? `${formatNumber(page.offset + 1)}–${formatNumber(end)} of ${formatNumber(page.total)}` : "No one"),
    h("button", { class: "button small", type: "button", disabled: page.offset === 0, onclick: () => move(Math.max(0, page.offset - PAGE)) }, "Previous"),
    h("button", { class: "button small", type: "button", disabled: end >= page.total, onclick: () => move(page.offset + PAGE) }, "Next"));
  const save = h("button", { class: "button primary small", type: "button", disabled: page.total === 0, hidden: Boolean(spec.group) }, "Save as cohort");
  save.addEventListener("click", () => saveCohort(ctx, api, spec, step, page.total, title, state));
  replace(body,
    h("div", { class: "panel-actions" }, pager, save),
    h("p", { class: "help" },
      "A cohort saved from here lists these users by id, exactly as the funnel counts them. ",
      "A definition by events (did one step, did not do the next) would not be exact: it cannot say ",
      "“in this order, within the conversion window”."),
    h("div", { class: "scroll users-list" },
      h("table", { class: "data-table", "data-table": "drop-offs" },
        h("caption", { class: "visually-hidden" }, title),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, spec.group ? spec.group : "distinct_id"))),
        h("tbody", {}, page.users.map((id) => h("tr", {}, h("td", { class: "mono" }, id)))))));
}

function dropSpec(spec, step, offset, limit) {
  // Segments and the trend are not needed to list users.
  const out = { ...spec, drop_offs: { step, offset, limit } };
  delete out.breakdowns;
  delete out.unit;
  return out;
}

async function saveCohort(ctx, api, spec, step, total, title, state) {
  if (total > MAX_LISTED) {
    toast(`Too many users for one cohort (${formatNumber(total)}; at most ${formatNumber(MAX_LISTED)})`);
    return;
  }
  const answer = await askName({ title: "Save these users as a cohort", name: title });
  if (!answer) return;
  try {
    const all = await api.post("/funnels", dropSpec(spec, step, 0, Math.max(total, 1)));
    const description = `${title}, in the funnel ${state.steps.map((s) => s.event).join(" → ")}` +
      ` from ${spec.from_date} to ${spec.to_date}: ${formatNumber(all.drop_offs.total)} users listed by id.`;
    const saved = await api.post("/cohorts", { name: answer.name, description, condition: { users: all.drop_offs.users } });
    forgetCohorts();
    toast(`Saved the cohort “${saved.name}”`);
    const link = buildHash({ projectId: ctx.project.id, page: "cohorts", state: { cohort: saved.cohort_id } });
    const note = h("p", { class: "saved-note", role: "status" }, `Saved as the cohort “${saved.name}”. `, h("a", { href: link }, "Open it"));
    document.querySelector(".drop-offs .panel-actions")?.after(note);
  } catch (error) {
    toast(`Not saved: ${error.message}`);
  }
}
