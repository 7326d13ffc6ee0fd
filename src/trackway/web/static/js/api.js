// The API client: every call the app makes goes through here, to the public HTTP API.

/** An answer that is an error, with the API's one error shape:
 * {code, error, status, error_code} (docs/api.md). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

function authorization(secret) {
  // HTTP Basic with the API secret as user name and an empty password.
  return `Basic ${btoa(unescape(encodeURIComponent(`${secret}:`)))}`;
}

async function request(secret, method, path, { params, body, signal, raw = false } = {}) {
  const query = params ? new URLSearchParams(clean(params)).toString() : "";
  const url = query ? `${path}?${query}` : path;
  const headers = { Authorization: authorization(secret), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", `Cannot reach the trackway server (${error.message})`);
  }
  const text = await response.text();
  if (raw && response.ok) return text;
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error ? data.error : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, (data && data.error_code) || "http", message);
  }
  return data;
}

function clean(params) {
  const out = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") out[key] = String(value);
  }
  return out;
}

/** Which project a secret opens: {id, name, token, timezone, ...}. */
export async function whoAmI(secret) {
  const answer = await request(secret, "GET", "/api/v1/me");
  return answer.project;
}

/** A client bound to one project: paths are relative to /api/v1/projects/{id}, except those
 * starting with /api/ (Mixpanel's shapes), which are used as they are. */
export function projectClient(project) {
  const base = `/api/v1/projects/${project.id}`;
  const full = (path) => (path.startsWith("/api/") ? path : `${base}${path}`);
  return {
    project,
    get: (path, params, options = {}) => request(project.secret, "GET", full(path), { ...options, params }),
    post: (path, body, options = {}) => request(project.secret, "POST", full(path), { ...options, body }),
    put: (path, body, options = {}) => request(project.secret, "PUT", full(path), { ...options, body }),
    del: (path, options = {}) => request(project.secret, "DELETE", full(path), options),
    /** The answer's text as it is (a CSV export, say). */
    text: (path, params, options = {}) => request(project.secret, "GET", full(path), { ...options, params, raw: true }),
  };
}
