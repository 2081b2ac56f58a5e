// The operator dashboard: sign in with an org token, then sources, applications and event types.

import { Api } from "../lib/api.js";
import { errorBox, h, main, mount } from "../lib/dom.js";
import { Router } from "../lib/router.js";
import { endpointDetail, endpointsView } from "../outbound/endpoints.js";
import { messageDetail, messagesView } from "../outbound/messages.js";
import { appOverview, appsView } from "./apps.js";
import { eventTypesView } from "./event_types.js";
import { eventInspector } from "./events.js";
import { markNav, signIn } from "./shell.js";
import { sourceSettings } from "./source_settings.js";
import { sourceDetail, sourcesView } from "./sources.js";

const api = new Api("hookhub.ui.token");

function sourceCtx(srcId) {
  const base = `/ingest/api/v1/source/${encodeURIComponent(srcId)}`;
  return {
    api,
    base,
    source: true, // destinations: attempts are of events (replayed from the event's page), no resend or recover
    attemptsPath: (epId) => `${base}/endpoint/${encodeURIComponent(epId)}/attempt`,
    href: (path) => `#/sources/${encodeURIComponent(srcId)}${path.replace(/^\/endpoints/, "/destinations").replace(/^\/messages/, "/events")}`,
  };
}

function appCtx(appId) {
  return { api, appId, href: (path) => `#/apps/${encodeURIComponent(appId)}${path}`, canSend: true };
}

// Wraps a view: shows "Loading…", renders, and turns a failure into a message on the page.
const view = (render) => async (params) => {
  const target = main();
  mount(target, h("p", { class: "muted" }, "Loading…"));
  try {
    return await render(target, params);
  } catch (err) {
    mount(target, errorBox(err));
    return undefined;
  }
};

async function start() {
  const nav = document.getElementById("nav");
  const signOut = document.getElementById("sign-out");
  let session = null;
  if (api.token) {
    session = await api.session().catch(() => null);
    if (!session || session.scope !== "org") api.token = null;
  }
  if (!api.token) session = await signIn(api);
  api.onUnauthorized = async () => {
    api.token = null;
    await signIn(api, "Your session ended: sign in again.");
    window.location.reload();
  };
  nav.hidden = false;
  signOut.hidden = false;
  signOut.addEventListener("click", () => {
    api.token = null;
    window.location.hash = "#/";
    window.location.reload();
  });
  document.getElementById("who").textContent = session ? "org token" : "";

  const router = new Router(
    {
      "/": view((t) => sourcesView(api, t)),
      "/sources": view((t) => sourcesView(api, t)),
      "/sources/:src": view((t, p) => sourceDetail(api, t, p.src, p.isCurrent)),
      "/sources/:src/settings": view((t, p) => sourceSettings(api, t, p.src)),
      "/sources/:src/events/:evt": view((t, p) => eventInspector(api, t, p.src, p.evt)),
      "/sources/:src/destinations": view((t, p) => endpointsView(sourceCtx(p.src), t)),
      "/sources/:src/destinations/:ep": view((t, p) => endpointDetail(sourceCtx(p.src), t, p.ep)),
      "/apps": view((t) => appsView(api, t)),
      "/apps/:app": view((t, p) => appOverview(api, t, p.app, appCtx(p.app))),
      "/apps/:app/endpoints": view((t, p) => endpointsView(appCtx(p.app), t)),
      "/apps/:app/endpoints/:ep": view((t, p) => endpointDetail(appCtx(p.app), t, p.ep)),
      "/apps/:app/messages": view((t, p) => messagesView(appCtx(p.app), t, p.query)),
      "/apps/:app/messages/:msg": view((t, p) => messageDetail(appCtx(p.app), t, p.msg)),
      "/event-types": view((t) => eventTypesView(api, t)),
    },
    { fallback: () => mount(main(), errorBox(new Error("No such page."))), onRoute: (path) => markNav(nav, path) },
  );
  await router.render();
}

start();
