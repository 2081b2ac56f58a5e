// The event inspector: one inbound request as it arrived, what the caller got, its deliveries; replay.

import { enc } from "../lib/api.js";
import { badge, busy, button, code, errorBox, field, formatTime, h, httpBadge, mount, section, statusBadge, table, toast } from "../lib/dom.js";
import { form, formError, input, submit, textarea, value } from "../lib/forms.js";
import { headerLines, sourcePath } from "./sources.js";

function decodeRaw(raw) {
  try {
    const bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  } catch {
    return raw;
  }
}

function bodyOf(evt) {
  if (evt.bodyEncoding === "base64") return `(binary, base64) ${evt.body}`;
  if (evt.body !== undefined && evt.body !== null && evt.body !== "") return evt.body;
  if (evt.rawBody) return decodeRaw(evt.rawBody);
  return "";
}

// Headers are an object; the query string may come as text ("a=1&b=2") or already parsed.
function kv(object) {
  const entries = typeof object === "string" ? [...new URLSearchParams(object)] : Object.entries(object || {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("table", { class: "table kv" }, h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v))))));
}

// Common answer types, offered as suggestions; any other type may be typed in.
const REPLY_TYPES = ["text/plain; charset=utf-8", "application/json", "application/xml", "text/html; charset=utf-8", "application/x-www-form-urlencoded"];

function answerShown(response, lead) {
  return h(
    "div",
    { id: "event-response" },
    h("p", {}, lead, httpBadge(response.status), response.timedOut ? " — no reply came in time" : ""),
    response.headers && Object.keys(response.headers).length ? kv(response.headers) : null,
    response.body !== undefined && response.body !== null && response.body !== "" ? code(response.body) : null,
  );
}

function replyForm(api, evt) {
  return form(
    { id: "reply-form" },
    [
      h("p", { class: "muted" }, "The caller is waiting for a reply. Answer it here:"),
      h("div", { class: "row" },
        field("Status", input("status", { type: "number", value: "200", min: 200, max: 599, required: true })),
        field("Content type", input("contentType", { list: "reply-types", placeholder: "text/plain" })),
        h("datalist", { id: "reply-types" }, REPLY_TYPES.map((t) => h("option", { value: t })))),
      field("Headers (one per line)", textarea("headers", { rows: 3, placeholder: "X-Request-Id: 42" })),
      field("Body", textarea("body", { rows: 3, value: "" })),
      formError(),
      submit("Send reply"),
    ],
    async (f) => {
      const headers = headerLines(value(f, "headers"));
      const contentType = value(f, "contentType");
      if (contentType) {
        for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-type") delete headers[name];
        headers["Content-Type"] = contentType;
      }
      // The body goes as text, so the caller gets exactly what was typed, with the type chosen.
      const reply = { status: Number(value(f, "status")), headers, body: f.elements.namedItem("body").value };
      await api.post(`/ingest/api/v1/reply/${enc(evt.replyId)}`, reply);
      toast("Reply sent");
      // The event records the answer once the caller has it; show what was sent meanwhile.
      f.replaceWith(answerShown(reply, "Sent to the caller: "));
    },
  );
}

async function attemptsOf(api, srcId, evtId) {
  try {
    const page = await api.list(`${sourcePath(srcId)}/event/${enc(evtId)}/attempt`, { limit: 100 });
    return table(
      [
        { title: "Time", render: (a) => formatTime(a.timestamp) },
        { title: "Destination", render: (a) => a.url },
        { title: "Status", render: (a) => statusBadge(a.status) },
        { title: "HTTP", render: (a) => httpBadge(a.responseStatusCode) },
        { title: "Trigger", render: (a) => (a.triggerType === 1 ? "manual" : "scheduled") },
        { title: "", render: (a) => h("details", {}, h("summary", {}, "response"), code(a.response || "")) },
      ],
      page.data,
      { empty: "No destination attempts (the source has no destinations, or none match this event)." },
    );
  } catch (err) {
    return errorBox(err);
  }
}

export async function eventInspector(api, target, srcId, evtId) {
  const evt = await api.get(`${sourcePath(srcId)}/event/${enc(evtId)}`);
  const attempts = await attemptsOf(api, srcId, evt.id);
  const response = evt.response;
  const replay = button("Replay", (e) =>
    busy(e.currentTarget, async () => {
      const result = await api.post(`${sourcePath(srcId)}/event/${enc(evt.id)}/replay`, {});
      const count = result?.deliveriesEnqueued ?? 0;
      toast(`Replayed: ${count} ${count === 1 ? "delivery" : "deliveries"} queued`);
      mount(replayed, `Replayed to ${count} destination${count === 1 ? "" : "s"}.`);
    }), { id: "replay-event", class: "btn btn-primary" });
  const replayed = h("span", { id: "replay-result", class: "muted" });
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: `#/sources/${enc(srcId)}` }, "← Source")),
    h(
      "section",
      { class: "card" },
      h("h2", { id: "event-title" }, badge(evt.method || "?"), " ", evt.path || "/", " ", h("small", { class: "muted" }, evt.id)),
      h("dl", { class: "props" },
        h("dt", {}, "Received"), h("dd", {}, formatTime(evt.receivedAt || evt.timestamp)),
        h("dt", {}, "Event type"), h("dd", {}, evt.eventType || "—"),
        h("dt", {}, "Source IP"), h("dd", {}, evt.sourceIp || "—"),
        h("dt", {}, "Reply id"), h("dd", {}, evt.replyId || "—")),
      h("div", { class: "actions" }, replay, replayed),
    ),
    h("div", { class: "grid-2" },
      section("Query", kv(evt.query)),
      section("Headers", h("div", { id: "event-headers" }, kv(evt.headers)))),
    section("Body", code(bodyOf(evt), { id: "event-body" })),
    section(
      "Reply",
      response
        ? answerShown(response, "The caller got ")
        : evt.replyId
          ? replyForm(api, evt)
          : h("p", { class: "muted" }, "No reply recorded."),
    ),
    section("Delivery attempts", attempts),
  );
}
