// The REST client the pages use: the same public APIs as every other client, with a bearer token
// kept in sessionStorage (gone when the tab closes; never in localStorage or a cookie).

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.code = body && body.code;
    this.body = body;
  }
}

function describe(status, body) {
  if (status === 403) {
    return "Access denied: this token does not give access to that resource.";
  }
  if (status === 401) return "Not signed in, or the token is no longer valid.";
  if (!body) return `Request failed (HTTP ${status}).`;
  const detail = body.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".") || "body"}: ${d.msg}`).join("; ");
  }
  return typeof detail === "string" ? detail : `Request failed (HTTP ${status}).`;
}

export class Api {
  constructor(storageKey) {
    this.storageKey = storageKey;
    this.onUnauthorized = null;
  }

  get token() {
    return sessionStorage.getItem(this.storageKey);
  }

  set token(value) {
    if (value) sessionStorage.setItem(this.storageKey, value);
    else sessionStorage.removeItem(this.storageKey);
  }

  async request(method, path, body, { query, raw = false } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, typeof parsed === "object" ? parsed : null);
      if (response.status === 401 && this.onUnauthorized) this.onUnauthorized(error);
      throw error;
    }
    return raw ? { status: response.status, body: parsed } : parsed;
  }

  get(path, query) {
    return this.request("GET", path, undefined, { query });
  }
  post(path, body = {}) {
    return this.request("POST", path, body);
  }
  put(path, body) {
    return this.request("PUT", path, body);
  }
  patch(path, body) {
    return this.request("PATCH", path, body);
  }
  delete(path) {
    return this.request("DELETE", path);
  }

  // One page of a Svix list: {data, iterator, prevIterator, done}.
  list(path, query = {}) {
    return this.get(path, { limit: 50, ...query });
  }

  session() {
    return this.get("/ui/session");
  }
}

export const enc = encodeURIComponent;
