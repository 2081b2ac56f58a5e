// The consumer portal: one application's owner manages their endpoints and sees their deliveries.
// Opened from the link `POST /api/v1/auth/app-portal-access/{app}` returns: /portal#token=…
// The token moves from the URL into sessionStorage at once, so it is not left in the address bar.

import { Api } from "../lib/api.js";
import { errorBox, h, main, mount } from "../lib/dom.js";
import { Router } from "../lib/router.js";
import { endpointDetail, endpointsView } from "../outbound/endpoints.js";
import { messageDetail, messagesView } from "../outbound/messages.js";
import { markNav } from "../ui/shell.js";

const api = new Api("hookhub.portal.token");
const APP_KEY = "hookhub.portal.app";

function takeFragmentCredentials() {
  const fragment = window.location.hash.replace(/^#/, "");
  if (!fragment.includes("token=")) return;
  const params = new URLSearchParams(fragment);
  api.token = params.get("token");
  if (params.get("app")) sessionStorage.setItem(APP_KEY, params.get("app"));
  else sessionStorage.removeItem(APP_KEY);
  history.replaceState(null, "", `${window.location.pathname}#/endpoints`);
}

function showProblem(title, detail) {
  document.getElementById("nav").hidden = true;
  mount(main(), h("section", { class: "card problem", id: "portal-problem" }, h("h2", {}, title), h("p", {}, detail)));
}

async function start() {
  // A new access link pasted into this tab: start over with its token.
  window.addEventListener("hashchange", () => {
    if (window.location.hash.includes("token=")) window.location.reload();
  });
  takeFragmentCredentials();
  if (!api.token) {
    showProblem("No access link", "Open this portal through the link your webhook provider gave you.");
    return;
  }
  let session;
  try {
    session = await api.session();
  } catch (err) {
    showProblem("This link is not valid", err.status === 401 ? "The access link has expired or was revoked. Ask your provider for a new one." : err.message);
    return;
  }
  const appId = sessionStorage.getItem(APP_KEY) || session.appId;
  if (!appId) {
    showProblem("Not a portal link", "This token is not scoped to an application. Use the dashboard at /ui instead.");
    return;
  }
  let app;
  try {
    app = await api.get(`/api/v1/app/${encodeURIComponent(appId)}`);
  } catch (err) {
    if (err.status === 403) {
      showProblem("Access denied", `This link only gives access to its own application, not to ${appId}.`);
    } else {
      showProblem("Application unavailable", err.message);
    }
    return;
  }
  api.onUnauthorized = () => showProblem("Session ended", "The access link has expired or was revoked.");
  const who = document.getElementById("who");
  who.textContent = app.name;
  if (session.readOnly) {
    who.before(h("span", { class: "badge badge-wait", id: "read-only-notice", title: "This link can see endpoints and messages but not change them." }, "Read-only access"));
  }
  document.title = `${app.name} — webhooks`;
  const nav = document.getElementById("nav");
  nav.hidden = false;

  // A read-only link: the shared screens leave out every control that would write.
  const ctx = { api, appId: app.id, href: (path) => `#${path}`, canSend: false, readOnly: Boolean(session.readOnly) };
  const view = (render) => async (params) => {
    const target = main();
    mount(target, h("p", { class: "muted" }, "Loading…"));
    try {
      await render(target, params);
    } catch (err) {
      mount(target, errorBox(err));
    }
  };
  const router = new Router(
    {
      "/": view((t) => endpointsView(ctx, t)),
      "/endpoints": view((t) => endpointsView(ctx, t)),
      "/endpoints/:ep": view((t, p) => endpointDetail(ctx, t, p.ep)),
      "/messages": view((t, p) => messagesView(ctx, t, p.query)),
      "/messages/:msg": view((t, p) => messageDetail(ctx, t, p.msg)),
    },
    { fallback: () => mount(main(), errorBox(new Error("No such page."))), onRoute: (path) => markNav(nav, path) },
  );
  await router.render();
}

start();
