// The /api/v1 client: same-origin cookies, the CSRF token echoed on every state change,
// errors turned into readable messages.

const BASE = "/api/v1";
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setCsrf(token) {
  csrfToken = token || null;
}

async function errorMessage(response) {
  let detail = "";
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) detail = body.detail.map((d) => d.msg || "").join("; ");
    else if (typeof body.error === "string") detail = body.error;
  } catch {
    /* not JSON: fall back to the status text */
  }
  return detail || `${response.status} ${response.statusText}`;
}

export async function request(method, path, { json, form, query } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== null && v !== undefined && v !== "" && v !== false) params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/auth/")) {
      window.dispatchEvent(new CustomEvent("ecglens:unauthorized"));
    }
    throw new ApiError(response.status, await errorMessage(response));
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const api = {
  login: (username, password) => request("POST", "/auth/login", { json: { username, password } }),
  logout: () => request("POST", "/auth/logout"),
  me: () => request("GET", "/auth/me"),
  version: () => request("GET", "/version"),
  schema: () => request("GET", "/schema"),
  listEcgs: (query) => request("GET", "/ecgs", { query }),
  getEcg: (id) => request("GET", `/ecgs/${encodeURIComponent(id)}`),
  signal: (id) => request("GET", `/ecgs/${encodeURIComponent(id)}/signal`),
  overreads: (id) => request("GET", `/ecgs/${encodeURIComponent(id)}/overreads`),
  addOverread: (id, body) =>
    request("POST", `/ecgs/${encodeURIComponent(id)}/overreads`, { json: body }),
  /** One ECG: a single file, or a WFDB header with its signal (and annotation) files. */
  upload: (files) => {
    const form = new FormData();
    for (const file of [].concat(files)) form.append("file", file, file.name);
    return request("POST", "/ecgs", { form });
  },
  // administration (role admin)
  users: () => request("GET", "/users"),
  addUser: (body) => request("POST", "/users", { json: body }),
  keys: () => request("GET", "/keys"),
  addKey: (username, name) => request("POST", "/keys", { json: { username, name } }),
  revokeKey: (id) => request("DELETE", `/keys/${encodeURIComponent(id)}`),
  audit: (query) => request("GET", "/audit", { query }),
};

export function downloadUrl(id, kind) {
  const names = { pdf: "report.pdf", png: "report.png", fhir: "fhir", original: "original" };
  return `${BASE}/ecgs/${encodeURIComponent(id)}/${names[kind]}`;
}
