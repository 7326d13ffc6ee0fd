// The projects signed in to in this browser tab. Secrets live in sessionStorage only: they
// are gone when the tab closes, and never written anywhere else.

const KEY = "trackway.projects";

/** [{id, name, secret, timezone, token}] in sign-in order. */
export function signedIn() {
  try {
    const found = JSON.parse(sessionStorage.getItem(KEY) || "[]");
    return Array.isArray(found) ? found : [];
  } catch {
    return [];
  }
}

export function findProject(id) {
  return signedIn().find((p) => p.id === Number(id)) || null;
}

/** Add or refresh a project (one entry per id). */
export function remember(project) {
  const others = signedIn().filter((p) => p.id !== project.id);
  sessionStorage.setItem(KEY, JSON.stringify([...others, project]));
}

export function forget(id) {
  sessionStorage.setItem(KEY, JSON.stringify(signedIn().filter((p) => p.id !== Number(id))));
}
