// The project's lexicon for pickers: event names, properties with types, top values.
// Answers are kept for a minute per project, so pickers open instantly.

const TTL_MS = 60_000;
const cache = new Map();

function cached(api, key, load) {
  const full = `${api.project.id}|${key}`;
  const hit = cache.get(full);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.promise;
  const promise = load().catch((error) => {
    cache.delete(full);
    throw error;
  });
  cache.set(full, { at: Date.now(), promise });
  return promise;
}

/** [{name, count}] most common first (GET /schema/events). */
export function eventNames(api) {
  return cached(api, "events", () => api.get("/schema/events").then((a) => a.events));
}

/** [{name, types, count}] of one event, or of all events when `event` is empty. */
export function properties(api, event = null) {
  return cached(api, `props|${event || ""}`, () =>
    api.get("/schema/properties", { event }).then((a) => a.properties));
}

/** [{value, count}] most common first. */
export function topValues(api, name, event = null) {
  return cached(api, `values|${name}|${event || ""}`, () =>
    api.get("/schema/values", { name, event }).then((a) => a.values));
}

export function forgetSchema() {
  cache.clear();
}
