// The freshness badge every chart carries: the newest event in the report's range and the
// ingestion lag (GET /freshness, docs/api.md).

import { h, replace } from "../dom.js";
import { formatDuration, formatTime } from "../format.js";

const STALE_LAG_MS = 5 * 60_000;

/** Fill `el` with the freshness of the days `from_date`..`to_date` in `timezone`. */
export async function showFreshness(el, api, { from_date, to_date, timezone }, signal) {
  el.className = "freshness";
  replace(el, h("span", { class: "dot", "aria-hidden": "true" }), "Checking freshness…");
  try {
    const found = await api.get("/freshness", { from_date, to_date, timezone }, { signal });
    render(el, found, timezone || api.project.timezone || "UTC");
  } catch (error) {
    if (error.name === "AbortError") return;
    el.className = "freshness empty";
    replace(el, h("span", { class: "dot", "aria-hidden": "true" }), "Freshness unknown");
  }
}

function render(el, found, timeZone) {
  if (found.newest_event_ms === null) {
    el.className = "freshness empty";
    replace(el, h("span", { class: "dot", "aria-hidden": "true" }), "No events in this range");
    return;
  }
  el.className = found.lag_ms > STALE_LAG_MS ? "freshness stale" : "freshness";
  const pending = found.uncommitted_events
    ? ` ${found.uncommitted_events} of them arrived in the last moments and are included from the log.`
    : "";
  el.title =
    `Newest event in range: ${formatTime(found.newest_event_ms, timeZone)}. ` +
    `The last event to arrive reached the server ${formatDuration(found.lag_ms)} after it happened. ` +
    `Every acknowledged event is included.${pending}`;
  replace(
    el,
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { "data-newest-ms": found.newest_event_ms }, `Data to ${formatTime(found.newest_event_ms, timeZone)}`),
    h("span", { "aria-hidden": "true" }, "·"),
    h("span", { "data-lag-ms": found.lag_ms }, `ingestion lag ${formatDuration(found.lag_ms)}`),
  );
}
