// A cohort's members, paged (GET /cohorts/{id}/users), with their profile properties, and
// the CSV of all of them (format=csv, fetched with the tab's credentials and saved as a file).

import { aborted, showError, showLoading } from "../components/status.js";
import { h, replace, toast } from "../dom.js";
import { formatNumber } from "../format.js";

const PAGE_SIZE = 50;
const SHOWN_PROPERTIES = 4;

/** Fill `el` with page `page` of the cohort's members. */
export async function membersList(el, ctx, cohort, page = 0) {
  const body = h("div", { "aria-live": "polite" });
  replace(el, body);
  showLoading(body, "Listing the members…");
  let answer;
  try {
    answer = await ctx.api.get(`/cohorts/${cohort.cohort_id}/users`, { page, page_size: PAGE_SIZE }, { signal: ctx.signal });
  } catch (error) {
    if (!aborted(error)) showError(body, error, "The members could not be listed");
    return;
  }
  body.removeAttribute("aria-busy");
  const first = page * PAGE_SIZE;
  const last = Math.min(first + answer.results.length, answer.total);
  const names = propertyNames(answer.results);
  const pager = h("div", { class: "row pager" },
    h("span", { class: "muted", "data-total": answer.total },
      answer.total ? `${formatNumber(first + 1)}–${formatNumber(last)} of ${formatNumber(answer.total)} members` : "No members right now"),
    h("button", { class: "button small", type: "button", disabled: page === 0, onclick: () => membersList(el, ctx, cohort, page - 1) }, "Previous"),
    h("button", { class: "button small", type: "button", disabled: last >= answer.total, onclick: () => membersList(el, ctx, cohort, page + 1) }, "Next"));
  const csv = h("button", { class: "button small", type: "button" }, "Export CSV");
  csv.addEventListener("click", () => exportCsv(ctx, cohort, csv));
  replace(body,
    h("div", { class: "panel-actions" }, pager, csv),
    h("div", { class: "scroll users-list" },
      h("table", { class: "data-table", "data-table": "cohort-users" },
        h("caption", { class: "visually-hidden" }, `Members of ${cohort.name}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "distinct_id"), names.map((n) => h("th", { scope: "col" }, n)))),
        h("tbody", {}, answer.results.map((row) => h("tr", { "data-distinct-id": row.distinct_id },
          h("td", { class: "mono" }, row.distinct_id),
          names.map((n) => h("td", {}, shown(row.properties[n])))))))));
}

/** The page's profile property names to show: $name and $email, then the most common of
 * the others (reserved names besides those are left to the CSV), then $last_seen. */
function propertyNames(rows) {
  const counts = new Map();
  for (const row of rows) {
    for (const name of Object.keys(row.properties)) {
      if (!name.startsWith("$")) counts.set(name, (counts.get(name) || 0) + 1);
    }
  }
  const names = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([n]) => n);
  const known = ["$name", "$email"].filter((n) => rows.some((r) => n in r.properties));
  const chosen = [...known, ...names].slice(0, SHOWN_PROPERTIES);
  if (rows.some((r) => "$last_seen" in r.properties)) chosen.push("$last_seen");
  return chosen;
}

function shown(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function exportCsv(ctx, cohort, button) {
  button.disabled = true;
  try {
    const text = await ctx.api.text(`/cohorts/${cohort.cohort_id}/users`, { format: "csv" });
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const link = h("a", { href: url, download: `cohort-${cohort.cohort_id}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    toast(`Not exported: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}
