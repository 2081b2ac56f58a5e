// Applications: list, create, and one application's overview (endpoints, messages, portal link).

import { enc } from "../lib/api.js";
import { busy, button, errorBox, field, formatTime, h, mount, section, table, toast } from "../lib/dom.js";
import { form, formError, input, integer, optional, submit, value } from "../lib/forms.js";
import { go } from "../lib/router.js";
import { endpointList } from "../outbound/endpoints.js";

export async function appsView(api, target) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const create = form(
    { id: "app-create" },
    [
      field("Name", input("name", { required: true, placeholder: "Acme Corp" })),
      field("UID", input("uid", { placeholder: "optional, your own id for it" })),
      field("Rate limit (messages/s)", input("throttleRate", { type: "number", min: 1 })),
      formError(),
      submit("Create application"),
    ],
    async (f) => {
      const body = { name: value(f, "name"), uid: optional(f, "uid"), throttleRate: integer(f, "throttleRate") };
      const app = await api.post("/api/v1/app", body);
      toast(`Application ${app.name} created`);
      go(`/apps/${app.id}`);
    },
  );
  mount(target, section("Applications", box), section("Create an application", create));
  const load = async (iterator) => {
    const page = await api.list("/api/v1/app", { iterator, order: "descending" }); // newest first
    mount(
      box,
      table(
        [
          { title: "Name", render: (a) => h("a", { href: `#/apps/${a.id}`, class: "app-link" }, a.name) },
          { title: "UID", render: (a) => a.uid || "" },
          { title: "ID", render: (a) => h("code", {}, a.id) },
          { title: "Created", render: (a) => formatTime(a.createdAt) },
        ],
        page.data,
        { empty: "No applications yet." },
      ),
      page.done ? null : button("More", (e) => busy(e.currentTarget, () => load(page.iterator))),
    );
  };
  try {
    await load();
  } catch (err) {
    mount(box, errorBox(err));
  }
}

function portalBox(api, app) {
  const out = h("p", { class: "portal-link" });
  return section(
    "Consumer portal",
    h("p", { class: "muted" }, "A link that lets this application's owner manage their own endpoints and see their deliveries, and nothing else."),
    button("Create portal link", (e) =>
      busy(e.currentTarget, async () => {
        const access = await api.post(`/api/v1/auth/app-portal-access/${enc(app.id)}`, {});
        mount(out, h("a", { href: access.url, target: "_blank", rel: "noopener noreferrer", id: "portal-link" }, access.url));
      }), { id: "create-portal-link" }),
    out,
  );
}

export async function appOverview(api, target, appId, ctx) {
  const app = await api.get(`/api/v1/app/${enc(appId)}`);
  const endpointsBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const rename = form(
    { id: "app-edit", class: "form form-inline" },
    [field("Name", input("name", { value: app.name, required: true })), submit("Rename"), formError()],
    async (f) => {
      await api.patch(`/api/v1/app/${enc(app.id)}`, { name: value(f, "name") });
      toast("Application renamed");
      await appOverview(api, target, app.id, ctx);
    },
  );
  const remove = button("Delete application", (e) =>
    busy(e.currentTarget, async () => {
      if (!window.confirm(`Delete ${app.name} with all its endpoints and messages?`)) return;
      await api.delete(`/api/v1/app/${enc(app.id)}`);
      toast("Application deleted");
      go("/apps");
    }), { class: "btn btn-danger" });
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "← Applications")),
    h(
      "section",
      { class: "card" },
      h("h2", { id: "app-name" }, app.name),
      h("dl", { class: "props" },
        h("dt", {}, "ID"), h("dd", {}, h("code", {}, app.id)),
        h("dt", {}, "UID"), h("dd", {}, app.uid || "—"),
        h("dt", {}, "Created"), h("dd", {}, formatTime(app.createdAt))),
      h("nav", { class: "tabs" },
        h("a", { href: ctx.href("/endpoints"), id: "app-endpoints" }, "Endpoints"),
        h("a", { href: ctx.href("/messages"), id: "app-messages" }, "Messages & sending")),
      rename,
      h("div", { class: "actions" }, remove),
    ),
    section("Endpoints", endpointsBox, h("p", {}, h("a", { href: ctx.href("/endpoints") }, "Manage endpoints →"))),
    portalBox(api, app),
  );
  try {
    await endpointList(ctx, endpointsBox);
  } catch (err) {
    mount(endpointsBox, errorBox(err));
  }
}
