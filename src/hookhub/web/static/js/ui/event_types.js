// Event types: list with their JSON Schemas, create or update, archive and unarchive.

import { enc } from "../lib/api.js";
import { badge, busy, button, code, errorBox, field, h, mount, section, table, toast } from "../lib/dom.js";
import { checkbox, form, formError, input, json, submit, textarea, value } from "../lib/forms.js";

export async function eventTypesView(api, target) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const create = form(
    { id: "event-type-create" },
    [
      field("Name", input("name", { required: true, placeholder: "invoice.paid", pattern: "[a-zA-Z0-9\\-_.]+" })),
      field("Description", input("description", { required: true })),
      field("Schema, version 1 (JSON Schema)", textarea("schema", { rows: 8, placeholder: '{"type": "object", "properties": {"id": {"type": "string"}}}' }), "Optional. Messages are documented against it."),
      field("Replace if it exists", checkbox("upsert", false)),
      formError(),
      submit("Save event type"),
    ],
    async (f) => {
      const schema = json(f, "schema", "Schema");
      const body = { name: value(f, "name"), description: value(f, "description"), schemas: schema ? { 1: schema } : null };
      if (value(f, "upsert")) await api.put(`/api/v1/event-type/${enc(body.name)}`, body);
      else await api.post("/api/v1/event-type", body);
      toast(`Event type ${body.name} saved`);
      await load();
      f.reset();
    },
  );
  async function load() {
    const page = await api.list("/api/v1/event-type", { limit: 250, include_archived: true, with_content: true });
    mount(
      box,
      table(
        [
          { title: "Name", render: (t) => h("code", { class: "event-type-name" }, t.name) },
          { title: "Description", render: (t) => t.description },
          { title: "State", render: (t) => (t.archived ? badge("archived", "bad") : t.deprecated ? badge("deprecated", "wait") : badge("active", "ok")) },
          {
            title: "Schemas",
            render: (t) =>
              t.schemas && Object.keys(t.schemas).length
                ? h("details", {}, h("summary", {}, `versions ${Object.keys(t.schemas).join(", ")}`), code(t.schemas))
                : h("span", { class: "muted" }, "none"),
          },
          {
            title: "",
            render: (t) =>
              t.archived
                ? button("Unarchive", (e) => busy(e.currentTarget, async () => {
                    await api.patch(`/api/v1/event-type/${enc(t.name)}`, { archived: false });
                    toast(`${t.name} is active again`);
                    await load();
                  }), { class: "btn btn-small unarchive" })
                : button("Archive", (e) => busy(e.currentTarget, async () => {
                    await api.delete(`/api/v1/event-type/${enc(t.name)}`);
                    toast(`${t.name} archived`);
                    await load();
                  }), { class: "btn btn-small" }),
          },
        ],
        page.data,
        { empty: "No event types yet." },
      ),
    );
  }
  mount(target, section("Event types", box), section("Add an event type", create));
  try {
    await load();
  } catch (err) {
    mount(box, errorBox(err));
  }
}
