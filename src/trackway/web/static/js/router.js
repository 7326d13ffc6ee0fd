// Routes and URL state. Everything that defines what a page shows lives in the URL's hash:
//   #/p/{project id}/{page}?s={state as JSON}&report={saved report id}
// so a copied link reopens the same report. Pages change the state with `setState`, which
// replaces the URL without reloading the page.

/** {projectId, page, state, reportId} from a hash; nulls for what it lacks. */
export function parseHash(hash) {
  const text = (hash || "").replace(/^#/, "");
  const [path, query = ""] = text.split("?", 2);
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query);
  let state = null;
  if (params.get("s")) {
    try {
      state = JSON.parse(params.get("s"));
    } catch {
      state = null; // a mangled link opens the page's default report
    }
  }
  const reportId = params.get("report") ? Number(params.get("report")) : null;
  if (parts[0] === "p" && parts[1] && /^\d+$/.test(parts[1])) {
    return { projectId: Number(parts[1]), page: parts[2] || null, state, reportId };
  }
  return { projectId: null, page: parts[0] || null, state, reportId };
}

/** The hash for a route; `state` is kept as JSON. */
export function buildHash({ projectId, page, state = null, reportId = null }) {
  const path = projectId ? `#/p/${projectId}/${page}` : `#/${page}`;
  const params = new URLSearchParams();
  if (state) params.set("s", JSON.stringify(state));
  if (reportId) params.set("report", String(reportId));
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/** Go to a route (a new history entry; the app re-renders on hashchange). */
export function navigate(route) {
  const hash = buildHash(route);
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Replace the current URL's state without re-rendering the page. */
export function replaceRoute(route) {
  history.replaceState(null, "", buildHash(route));
}

/** The absolute link to a route, to copy and share. */
export function linkTo(route) {
  return `${location.origin}${location.pathname}${buildHash(route)}`;
}
