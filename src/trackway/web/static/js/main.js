// The app shell: sign-in, the sidebar (projects and pages) and the page router.

import { projectClient } from "./api.js";
import { h, replace, select } from "./dom.js";
import { icon } from "./icons.js";
import { PAGES, pageById } from "./pages/index.js";
import { mountSignIn } from "./pages/signin.js";
import { navigate, parseHash, replaceRoute } from "./router.js";
import { findProject, forget, signedIn } from "./session.js";

const app = document.getElementById("app");
let current = null; // {controller, cleanup} of the mounted page

function leave() {
  if (!current) return;
  current.controller.abort();
  if (typeof current.cleanup === "function") current.cleanup();
  current = null;
}

function render() {
  leave();
  const route = parseHash(location.hash);
  const projects = signedIn();
  const project = route.projectId ? findProject(route.projectId) : null;
  if (route.page === "signin" || !projects.length || (route.projectId && !project)) {
    renderSignIn(route);
    return;
  }
  if (!project || !pageById(route.page)) {
    const target = project || projects[0];
    replaceRoute({ projectId: target.id, page: pageById(route.page) ? route.page : "events" });
    render();
    return;
  }
  renderPage(project, pageById(route.page), route);
}

function renderSignIn(route) {
  app.className = "app signed-out";
  app.removeAttribute("aria-busy");
  const root = h("main", { id: "main", class: "signin-main" });
  replace(app, root);
  const wanted = route.page === "signin" ? null : route;
  mountSignIn(root, {
    wantedProjectId: route.projectId,
    canCancel: signedIn().length > 0,
    onSignedIn(project) {
      if (wanted && wanted.projectId === project.id) navigate(wanted);
      else navigate({ projectId: project.id, page: "events" });
    },
    onCancel() {
      history.back();
    },
  });
}

function renderPage(project, page, route) {
  app.className = "app";
  app.removeAttribute("aria-busy");
  const title = h("h1", { tabindex: "-1" }, page.title);
  const subtitle = h("p", { class: "subtitle" });
  const actions = h("div", { class: "page-actions" });
  const body = h("div", { class: "page-body" });
  const main = h(
    "main",
    { id: "main", class: "main" },
    h("header", { class: "page-header" }, h("div", {}, title, subtitle), actions),
    body,
  );
  replace(app, sidebar(project, page), main);
  document.title = `${page.title} · ${project.name} · trackway`;
  const controller = new AbortController();
  const ctx = {
    api: projectClient(project),
    project,
    state: route.state,
    reportId: route.reportId,
    signal: controller.signal,
    pages: PAGES,
    setState(state, reportId = ctx.reportId) {
      ctx.state = state;
      ctx.reportId = reportId;
      replaceRoute({ projectId: project.id, page: page.id, state, reportId });
    },
    navigate: (to) => navigate({ projectId: project.id, ...to }),
    header: {
      setActions: (...nodes) => replace(actions, ...nodes),
      setSubtitle: (text) => replace(subtitle, text || ""),
    },
  };
  current = { controller, cleanup: page.mount(body, ctx) };
  if (document.activeElement === document.body || !document.activeElement) title.focus();
}

function sidebar(project, page) {
  const projects = signedIn();
  const switcher = select(
    [...projects.map((p) => [String(p.id), p.name]), ["+", "Add a project…"]],
    String(project.id),
    { id: "project-switch" },
  );
  switcher.addEventListener("change", () => {
    if (switcher.value === "+") navigate({ page: "signin" });
    else navigate({ projectId: Number(switcher.value), page: page.id });
  });
  const links = PAGES.map((p) =>
    h(
      "li",
      {},
      h(
        "a",
        { href: `#/p/${project.id}/${p.id}`, "aria-current": p.id === page.id ? "page" : null },
        h("span", { class: "nav-icon" }, icon(p.icon || p.id)),
        h("span", { class: "nav-text" }, p.title),
      ),
    ),
  );
  const signOut = h("button", { class: "button small", type: "button", "aria-label": "Sign out", title: `Sign out of ${project.name}` },
    icon("signout"), h("span", { class: "nav-text" }, "Sign out"));
  signOut.addEventListener("click", () => {
    forget(project.id);
    const next = signedIn()[0];
    navigate(next ? { projectId: next.id, page: "events" } : { page: "signin" });
  });
  return h(
    "aside",
    { class: "sidebar" },
    h("a", { class: "brand", href: `#/p/${project.id}/events` },
      h("img", { src: "/web/icon.svg", alt: "" }), h("span", {}, "trackway")),
    h("div", { class: "project-switch" }, h("label", { for: "project-switch" }, "Project"), switcher),
    h("nav", { class: "nav", "aria-label": "Reports" }, h("ul", {}, links)),
    h("div", { class: "sidebar-foot" },
      h("span", { class: "note" }, `Signed in to ${project.name} (project ${project.id})`), signOut),
  );
}

window.addEventListener("hashchange", render);
render();
