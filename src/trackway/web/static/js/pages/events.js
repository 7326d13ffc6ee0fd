// Events: the live view of arriving events and the lexicon of what they contain.

import { h, replace } from "../dom.js";
import { liveFeed } from "./events_live.js";
import { lexicon } from "./events_lexicon.js";

const REFRESH_MS = 2000;

function mount(root, ctx) {
  ctx.header.setSubtitle(`${ctx.project.name} · project ${ctx.project.id}`);
  const insights = h("a", { class: "button", href: `#/p/${ctx.project.id}/insights` }, "Open Insights");
  ctx.header.setActions(insights);
  const words = lexicon(ctx.api);
  const known = new Set();
  let refreshed = Date.now();
  let timer = null;
  // Names the lexicon has not shown yet: reload it, at most every few seconds.
  const onNames = (names) => {
    const unseen = [...names].some((name) => !known.has(name));
    names.forEach((name) => known.add(name));
    if (!unseen || timer) return;
    timer = setTimeout(() => {
      timer = null;
      refreshed = Date.now();
      words.refresh();
    }, Math.max(0, refreshed + REFRESH_MS - Date.now()));
  };
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  replace(root, liveFeed(ctx.api, ctx.project, ctx.signal, onNames), words);
}

export default { id: "events", title: "Events", icon: "events", kind: null, mount };
