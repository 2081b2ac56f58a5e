// Messages of one application: list, send (dashboard only), detail with attempts and resend.
// Shared by the dashboard and the consumer portal; `ctx` is {api, appId, href(path), canSend, readOnly}.

import { enc } from "../lib/api.js";
import { busy, button, code, errorBox, field, formatTime, h, mount, section, statusBadge, table, toast } from "../lib/dom.js";
import { form, formError, input, json, list, optional, submit, textarea, value } from "../lib/forms.js";
import { go } from "../lib/router.js";
import { attemptsTable, resend } from "./endpoints.js";

// The owner of the endpoints: an application, or a source (its destinations) when ctx.base is set.
const base = (ctx) => ctx.base || `/api/v1/app/${enc(ctx.appId)}`;

function sendForm(ctx) {
  return form(
    { id: "message-create" },
    [
      field("Event type", input("eventType", { required: true, placeholder: "invoice.paid" })),
      field("Payload (JSON)", textarea("payload", { rows: 6, value: '{\n  "hello": "world"\n}' })),
      field("Event id", input("eventId", { placeholder: "optional, for de-duplication" })),
      field("Channels", input("channels", { placeholder: "optional, comma-separated" })),
      formError(),
      submit("Send message"),
    ],
    async (f) => {
      const payload = json(f, "payload", "Payload");
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        throw new Error("Payload must be a JSON object.");
      }
      const body = { eventType: value(f, "eventType"), payload, channels: list(f, "channels") };
      if (optional(f, "eventId")) body.eventId = optional(f, "eventId");
      const msg = await ctx.api.post(`${base(ctx)}/msg`, body);
      toast(`Message ${msg.id} sent`);
      go(ctx.href(`/messages/${msg.id}`).slice(1));
    },
  );
}

export async function messagesView(ctx, target, query) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const filter = form(
    { class: "form form-inline", id: "message-filter" },
    [field("Event type", input("eventType", { value: query?.get("eventType") || "" })), submit("Filter")],
    async (f) => {
      const type = value(f, "eventType");
      go(ctx.href(`/messages${type ? `?eventType=${enc(type)}` : ""}`).slice(1));
    },
  );
  mount(target, section("Messages", filter, box), ctx.canSend ? section("Send a message", sendForm(ctx)) : null);
  const load = async (iterator) => {
    const eventTypes = query?.get("eventType");
    const page = await ctx.api.list(`${base(ctx)}/msg`, { iterator, event_types: eventTypes || undefined });
    const more = page.done ? null : button("Older messages", (e) => busy(e.currentTarget, () => load(page.iterator)));
    mount(
      box,
      table(
        [
          { title: "Message", render: (m) => h("a", { href: ctx.href(`/messages/${m.id}`), class: "message-link" }, m.id) },
          { title: "Event type", render: (m) => m.eventType },
          { title: "Event id", render: (m) => m.eventId || "" },
          { title: "Time", render: (m) => formatTime(m.timestamp) },
        ],
        page.data,
        { empty: "No messages yet." },
      ),
      more,
    );
  };
  try {
    await load();
  } catch (err) {
    mount(box, errorBox(err));
  }
}

export async function messageDetail(ctx, target, msgId) {
  const msg = await ctx.api.get(`${base(ctx)}/msg/${enc(msgId)}`);
  const attemptsBox = h("div", {});
  const destinations = h("div", {});
  async function load() {
    const [attempts, endpoints] = await Promise.all([
      ctx.api.list(`${base(ctx)}/attempt/msg/${enc(msg.id)}`, { limit: 100 }),
      ctx.api.list(`${base(ctx)}/msg/${enc(msg.id)}/endpoint`).catch(() => ({ data: [] })),
    ]);
    mount(attemptsBox, attemptsTable(ctx, attempts.data, { showEndpoint: true, showMessage: false }));
    mount(
      destinations,
      table(
        [
          { title: "Endpoint", render: (ep) => h("a", { href: ctx.href(`/endpoints/${ep.id}`) }, ep.url) },
          { title: "Status", render: (ep) => statusBadge(ep.status) },
          { title: "Next attempt", render: (ep) => formatTime(ep.nextAttempt) || "—" },
          ctx.readOnly
            ? null
            : {
                title: "",
                render: (ep) =>
                  button("Resend", (e) => busy(e.currentTarget, async () => {
                    await resend(ctx, msg.id, ep.id);
                    await load();
                  }), { class: "btn btn-small resend-endpoint" }),
              },
        ].filter(Boolean),
        endpoints.data,
        { empty: "No endpoint was sent this message." },
      ),
    );
  }
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: ctx.href("/messages") }, "← Messages")),
    section(
      `Message ${msg.id}`,
      h("dl", { class: "props" },
        h("dt", {}, "Event type"), h("dd", {}, msg.eventType),
        h("dt", {}, "Event id"), h("dd", {}, msg.eventId || "—"),
        h("dt", {}, "Channels"), h("dd", {}, (msg.channels || []).join(", ") || "—"),
        h("dt", {}, "Time"), h("dd", {}, formatTime(msg.timestamp))),
      h("h3", {}, "Payload"),
      code(msg.payload, { id: "message-payload" }),
    ),
    section("Destinations", destinations),
    section("Delivery attempts", h("div", { class: "actions" }, button("Refresh", (e) => busy(e.currentTarget, load), { id: "refresh-attempts" })), attemptsBox),
  );
  try {
    await load();
  } catch (err) {
    mount(attemptsBox, errorBox(err));
  }
}
