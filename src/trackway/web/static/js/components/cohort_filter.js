// Cohort filters: the filter editor's "in cohort" / "not in cohort" rows, written as the
// expressions cohort(N) and not cohort(N) (docs/cohorts.md#in-reports). A row is
// {cohort: N, negate: false}.

import { field, h, replace, select } from "../dom.js";

const TTL_MS = 30_000;
const cache = new Map();

/** The project's saved cohorts of users (GET /cohorts), kept briefly. */
export function savedCohorts(api) {
  const hit = cache.get(api.project.id);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.promise;
  const promise = api.get("/cohorts")
    .then((answer) => answer.cohorts.filter((c) => c.group === null))
    .catch((error) => {
      cache.delete(api.project.id);
      throw error;
    });
  cache.set(api.project.id, { at: Date.now(), promise });
  return promise;
}

/** Forget the cached list (a cohort was created, renamed or deleted). */
export function forgetCohorts() {
  cache.clear();
}

export function isCohortRow(row) {
  return Boolean(row) && Object.prototype.hasOwnProperty.call(row, "cohort");
}

/** The row as an expression, or null until a cohort is chosen. */
export function cohortExpression(row) {
  const id = Number(row.cohort);
  if (!Number.isInteger(id) || id < 1) return null;
  return row.negate ? `not cohort(${id})` : `cohort(${id})`;
}

/** One cohort row of a filter editor: membership and the cohort. */
export function cohortRow(api, row, onChange, remove) {
  const mode = select([["in", "in cohort"], ["out", "not in cohort"]], row.negate ? "out" : "in", { name: "cohort-membership" });
  mode.addEventListener("change", () => {
    row.negate = mode.value === "out";
    onChange();
  });
  const which = h("select", { name: "cohort" }, h("option", { value: "" }, "Loading cohorts…"));
  savedCohorts(api).then((cohorts) => {
    const known = cohorts.some((c) => c.cohort_id === row.cohort);
    replace(which,
      h("option", { value: "" }, cohorts.length ? "Choose a cohort" : "No saved cohort yet"),
      !known && row.cohort ? h("option", { value: row.cohort, selected: true }, `Cohort ${row.cohort}`) : null,
      cohorts.map((c) => h("option", { value: c.cohort_id, selected: c.cohort_id === row.cohort }, c.name)));
  }).catch(() => replace(which, h("option", { value: row.cohort || "" }, "Cohorts could not load")));
  which.addEventListener("change", () => {
    row.cohort = which.value ? Number(which.value) : null;
    onChange();
  });
  const removeButton = h("button", { class: "button icon ghost", type: "button", "aria-label": "Remove cohort filter", title: "Remove cohort filter" }, "×");
  removeButton.addEventListener("click", remove);
  return h("div", { class: "editor-row filter-row cohort-row" },
    field("Users", mode), removeButton, field("Cohort", which));
}
