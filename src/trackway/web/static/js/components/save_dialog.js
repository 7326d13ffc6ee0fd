// The save-report dialog and the share link. A saved report is {name, kind, state,
// definition} stored by the API (POST/PUT /reports): the state is what the page restores,
// the definition what the API runs (the spec without its dates; a saved funnel is listed by
// Mixpanel's /funnels/list). Its URL then carries `report={id}` beside the state.

import { h, toast } from "../dom.js";
import { linkTo } from "../router.js";

/** Ask for a name; resolves {name, asNew} or null when cancelled. */
export function askName({ title = "Save report", name = "", canUpdate = false }) {
  return new Promise((resolve) => {
    const input = h("input", { type: "text", id: "save-name", name: "name", value: name, required: true, maxlength: "200" });
    const error = h("p", { class: "signin-error", role: "alert" });
    const dialog = h("dialog", { "aria-labelledby": "save-title" });
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const submit = (asNew) => {
      if (!input.value.trim()) {
        input.setAttribute("aria-invalid", "true");
        error.textContent = "Give the report a name.";
        input.focus();
        return;
      }
      finish({ name: input.value.trim(), asNew });
    };
    const form = h("form", { method: "dialog" },
      h("h2", { id: "save-title" }, title),
      h("div", { class: "field" }, h("label", { for: "save-name" }, "Name"), input),
      error,
      h("div", { class: "actions" },
        h("button", { class: "button ghost", type: "button", onclick: () => finish(null) }, "Cancel"),
        canUpdate ? h("button", { class: "button", type: "button", onclick: () => submit(true) }, "Save as new") : null,
        h("button", { class: "button primary", type: "submit" }, canUpdate ? "Save changes" : "Save")));
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(false); });
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    input.select();
  });
}

/** Save the page's report: a new one, or the one the URL names. Returns the saved report. */
export async function saveReport(ctx, { kind, state, definition, defaultName }) {
  let existing = null;
  if (ctx.reportId) {
    try {
      existing = await ctx.api.get(`/reports/${ctx.reportId}`);
    } catch {
      existing = null; // deleted meanwhile: save as a new one
    }
  }
  const answer = await askName({ name: existing ? existing.name : defaultName, canUpdate: Boolean(existing) });
  if (!answer) return null;
  const body = { name: answer.name, kind, state };
  if (definition) body.definition = definition;
  const saved = existing && !answer.asNew
    ? await ctx.api.put(`/reports/${existing.report_id}`, body)
    : await ctx.api.post("/reports", body);
  ctx.setState(state, saved.report_id);
  ctx.header.setSubtitle(`Saved report: ${saved.name}`);
  toast(`Saved “${saved.name}”`);
  return saved;
}

/** Copy the link that reopens the page as it is now. */
export async function copyLink(ctx, pageId) {
  const url = linkTo({ projectId: ctx.project.id, page: pageId, state: ctx.state, reportId: ctx.reportId });
  try {
    await navigator.clipboard.writeText(url);
    toast("Link copied");
  } catch {
    window.prompt("Copy this link", url);
  }
  return url;
}

/** The Save and Copy link buttons of a report page's header. */
export function reportActions(ctx, { pageId, kind, getState, getDefinition, defaultName }) {
  const save = h("button", { class: "button primary", type: "button" }, "Save report");
  save.addEventListener("click", async () => {
    try {
      const definition = getDefinition();
      await saveReport(ctx, { kind, state: getState(), definition, defaultName: defaultName() });
    } catch (error) {
      toast(`Not saved: ${error.message}`);
    }
  });
  const share = h("button", { class: "button", type: "button" }, "Copy link");
  share.addEventListener("click", () => copyLink(ctx, pageId));
  return [share, save];
}
