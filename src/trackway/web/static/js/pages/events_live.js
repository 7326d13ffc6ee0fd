// The live view: the latest events to arrive, polled from GET /events/latest with a cursor
// (the uncommitted log tail included), newest first.

import { showError } from "../components/status.js";
import { h, replace } from "../dom.js";
import { formatTime } from "../format.js";

const POLL_MS = 1000;
const KEEP = 100;
const HIDDEN = new Set(["time", "distinct_id", "$insert_id", "mp_processing_time_ms", "$resolved_distinct_id"]);

/** The live card; `onNames(names)` hears the event names of each new batch. */
export function liveFeed(api, project, signal, onNames = () => {}) {
  const timeZone = project.timezone || "UTC";
  let rows = [];
  let cursor = null;
  let paused = false;
  let timer = null;
  const body = h("tbody", {});
  const status = h("span", { class: "badge live", role: "status" }, "Connecting…");
  const announce = h("span", { class: "visually-hidden", "aria-live": "polite" });
  const errorBox = h("div", {});
  const pause = h("button", { class: "button small", type: "button", "aria-pressed": "false" }, "Pause");
  const table = h("table", { class: "data-table live-table" },
    h("caption", { class: "visually-hidden" }, "Latest events, newest first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, `Time (${timeZone})`),
      h("th", { scope: "col" }, "Event"),
      h("th", { scope: "col" }, "User"),
      h("th", { scope: "col" }, "Properties"))),
    body);
  const empty = h("div", { class: "status empty" }, "Waiting for events… send one with any Mixpanel SDK and it shows here.");

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    status.textContent = paused ? "Paused" : "Live";
    if (!paused) poll();
  });

  async function poll() {
    clearTimeout(timer);
    if (signal.aborted || paused) return;
    try {
      const answer = await api.get("/events/latest", { limit: 50, after: cursor }, { signal });
      replace(errorBox);
      if (answer.events.length) {
        const fresh = answer.events.map((event) => row(event, timeZone));
        rows = [...fresh, ...rows].slice(0, KEEP);
        onNames(new Set(answer.events.map((e) => e.event)));
        replace(body, rows);
        if (cursor !== null) {
          fresh.forEach((r) => r.classList.add("new"));
          announce.textContent = `${answer.events.length} new event${answer.events.length > 1 ? "s" : ""}`;
        }
      }
      cursor = answer.cursor;
      empty.hidden = rows.length > 0;
      table.hidden = rows.length === 0;
      status.textContent = `Live · ${formatTime(Date.now(), timeZone)}`;
    } catch (error) {
      if (error.name === "AbortError") return;
      status.textContent = "Disconnected";
      showError(errorBox, error, "The live view could not update");
    }
    timer = setTimeout(poll, POLL_MS);
  }
  signal.addEventListener("abort", () => clearTimeout(timer));
  table.hidden = true;
  poll();

  return h("section", { class: "card live-card", "aria-labelledby": "live-title" },
    h("div", { class: "card-head" },
      h("div", {}, h("h2", { id: "live-title" }, "Live events"),
        h("p", { class: "hint" }, "The latest events to arrive, newest first, including those received a moment ago.")),
      h("div", { class: "row" }, status, pause)),
    errorBox,
    h("div", { class: "card-body flush scroll live-scroll" }, table, empty),
    announce);
}

function row(event, timeZone) {
  const props = event.properties;
  // The app's own properties first; the SDKs' ($lib_version, mp_lib, ...) after them.
  const shown = Object.entries(props)
    .filter(([key]) => !HIDDEN.has(key))
    .sort(([a], [b]) => Number(isLibrary(a)) - Number(isLibrary(b)));
  const summary = shown.slice(0, 4).map(([key, value]) =>
    h("span", { class: "kv" }, h("span", { class: "k" }, key), " ", h("span", { class: "v" }, short(value))));
  const details = h("details", {},
    h("summary", {}, shown.length > 4 ? `+${shown.length - 4} more` : "All properties"),
    h("pre", { class: "json" }, JSON.stringify(props, null, 2)));
  return h("tr", { "data-insert-id": props.$insert_id },
    h("td", { class: "mono nowrap" }, formatTime(props.time, timeZone)),
    h("td", { class: "event-name" }, event.event),
    h("td", { class: "mono" }, props.distinct_id),
    h("td", { class: "props" }, summary, details));
}

function isLibrary(key) {
  return key.startsWith("$") || key.startsWith("mp_");
}

function short(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
