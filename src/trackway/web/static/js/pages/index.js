// The pages of the app, in navigation order. A page module's default export is
//   {id, title, icon, kind, mount(root, ctx), renderTile?(el, state, ctx)}
// `kind` names the saved-report kind it produces (null for pages that save nothing);
// `renderTile` draws a saved report of that kind on a dashboard. See docs/web.md.

import cohorts from "./cohorts.js";
import dashboards from "./dashboards.js";
import events from "./events.js";
import flows from "./flows.js";
import funnels from "./funnels.js";
import insights from "./insights.js";
import retention from "./retention.js";

export const PAGES = [events, insights, funnels, retention, flows, cohorts, dashboards];

export function pageById(id) {
  return PAGES.find((page) => page.id === id) || null;
}
