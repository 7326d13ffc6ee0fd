// Events: the live view of arriving events and the lexicon of what they contain.

import { h, replace } from "../dom.js";
import { liveFeed } from "./events_live.js";
import { lexicon } from "./events_lexicon.js";

function mount(root, ctx) {
  ctx.header.setSubtitle(`${ctx.project.name} · project ${ctx.project.id}`);
  const insights = h("a", { class: "button", href: `#/p/${ctx.project.id}/insights` }, "Open Insights");
  ctx.header.setActions(insights);
  replace(root, liveFeed(ctx.api, ctx.project, ctx.signal), lexicon(ctx.api));
}

export default { id: "events", title: "Events", icon: "events", kind: null, mount };
