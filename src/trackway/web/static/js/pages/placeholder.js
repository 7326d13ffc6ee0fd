// A page whose report is still being built: says so, and links to what works today.

import { h, replace } from "../dom.js";

/** A page module for a report that is coming. */
export function placeholderPage({ id, title, icon, kind, what }) {
  return {
    id,
    title,
    icon,
    kind,
    mount(root, ctx) {
      ctx.header.setSubtitle(what);
      replace(
        root,
        h("section", { class: "card placeholder", "aria-labelledby": `${id}-coming` },
          h("div", { class: "card-body stack" },
            h("h2", { id: `${id}-coming` }, `The ${title} report is coming`),
            h("p", { class: "muted" }, `${what} The API already answers it: see POST /api/v1/projects/{id}/${id} in the API reference.`),
            h("p", {}, h("a", { href: `#/p/${ctx.project.id}/insights` }, "Open Insights"), " meanwhile."))),
      );
    },
  };
}
