// Sign in with a project's API secret. The secret is checked against GET /api/v1/me, which
// answers the project it opens; it is then kept in sessionStorage only.

import { whoAmI } from "../api.js";
import { h, replace } from "../dom.js";
import { remember, signedIn } from "../session.js";

export function mountSignIn(root, { wantedProjectId, canCancel, onSignedIn, onCancel }) {
  const secret = h("input", {
    type: "password",
    id: "secret",
    name: "secret",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "secret-help",
  });
  const error = h("p", { class: "signin-error", role: "alert", id: "signin-error" });
  const submit = h("button", { class: "button primary", type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("div", { class: "field" },
      h("label", { for: "secret" }, "Project API secret"),
      secret,
      h("p", { class: "help", id: "secret-help" },
        "Printed by ", h("code", {}, "trackway serve"), " on its first run, or by ",
        h("code", {}, "trackway project create"), ". It stays in this browser tab only."),
    ),
    error,
    h("div", { class: "row" },
      submit,
      canCancel ? h("button", { class: "button ghost", type: "button", onclick: onCancel }, "Cancel") : null),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = secret.value.trim();
    replace(error);
    if (!value) {
      secret.setAttribute("aria-invalid", "true");
      replace(error, "Enter the project's API secret.");
      return;
    }
    submit.disabled = true;
    try {
      const project = await whoAmI(value);
      remember({ ...project, secret: value });
      onSignedIn(project);
    } catch (failure) {
      secret.setAttribute("aria-invalid", "true");
      replace(error, failure.status === 401 ? "This secret opens no project." : failure.message);
    } finally {
      submit.disabled = false;
    }
  });
  const known = signedIn();
  replace(
    root,
    h("section", { class: "signin card", "aria-labelledby": "signin-title" },
      h("div", { class: "signin-brand" }, h("img", { src: "/web/icon.svg", alt: "" }), "trackway"),
      h("h1", { id: "signin-title" }, known.length ? "Add a project" : "Sign in"),
      wantedProjectId
        ? h("p", { class: "muted" }, `This link opens project ${wantedProjectId}: sign in with its API secret.`)
        : h("p", { class: "muted" }, "Product analytics on your own server."),
      form,
      known.length
        ? h("div", { class: "signin-known" }, h("h2", {}, "Signed in"),
            h("ul", {}, known.map((p) => h("li", {}, h("a", { href: `#/p/${p.id}/events` }, p.name),
              h("span", { class: "muted" }, ` · project ${p.id}`)))))
        : null,
    ),
  );
  secret.focus();
}
