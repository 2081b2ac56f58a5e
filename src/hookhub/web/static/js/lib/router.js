// A hash router: "#/sources/src_1" → the view registered for "/sources/:source".
// A view may return a cleanup function (e.g. to close a live event stream) run on navigation.
// Toasts are cleared when the user navigates; go() and rerender() keep them (the action's result).

import { clearToasts } from "./dom.js";

let carryToasts = false;

export class Router {
  constructor(routes, { fallback, onRoute } = {}) {
    this.routes = Object.entries(routes).map(([pattern, view]) => ({ ...compile(pattern), view }));
    this.fallback = fallback;
    this.onRoute = onRoute;
    this.cleanup = null;
    this.generation = 0;
    window.addEventListener("hashchange", () => this.render());
  }

  current() {
    const hash = window.location.hash.replace(/^#/, "");
    const [path, search = ""] = hash.split("?");
    return { path: path || "/", query: new URLSearchParams(search) };
  }

  async render() {
    if (!carryToasts) clearToasts();
    carryToasts = false;
    if (this.cleanup) {
      try {
        this.cleanup();
      } catch {
        /* a view's cleanup must never block navigation */
      }
      this.cleanup = null;
    }
    const generation = ++this.generation;
    const { path, query } = this.current();
    for (const route of this.routes) {
      const match = route.regex.exec(path);
      if (!match) continue;
      const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      if (this.onRoute) this.onRoute(path);
      const cleanup = await route.view({ ...params, query, isCurrent: () => generation === this.generation });
      if (generation === this.generation) this.cleanup = typeof cleanup === "function" ? cleanup : null;
      else if (typeof cleanup === "function") cleanup();
      return;
    }
    if (this.fallback) this.fallback(path);
  }
}

function compile(pattern) {
  const names = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${source}/?$`), names };
}

export function go(path) {
  const hash = `#${path}`;
  carryToasts = window.location.hash !== hash; // no hashchange (and no render) when it is the same
  window.location.hash = hash;
}

// Renders the current view again (running its cleanup first, e.g. closing a live stream).
export function rerender() {
  carryToasts = true;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
