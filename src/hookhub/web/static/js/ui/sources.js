// Sources: list and create; one source's page with its ingest URL, live event tail and tester.

import { enc } from "../lib/api.js";
import { badge, busy, button, code, errorBox, field, formatTime, h, mount, scroller, section, table, toast } from "../lib/dom.js";
import { form, formError, input, optional, select, submit, textarea, value } from "../lib/forms.js";
import { go, rerender } from "../lib/router.js";

export const SOURCES = "/ingest/api/v1/source";
export const sourcePath = (src) => `${SOURCES}/${enc(src)}`;

export async function sourcesView(api, target) {
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const create = form(
    { id: "source-create" },
    [
      field("Name", input("name", { required: true, placeholder: "GitHub pushes" })),
      field("UID", input("uid", { placeholder: "optional, your own id for it" })),
      formError(),
      submit("Create source"),
    ],
    async (f) => {
      const src = await api.post(SOURCES, { name: value(f, "name"), uid: optional(f, "uid"), type: "generic-webhook", config: {} });
      toast(`Source ${src.name} created`);
      go(`/sources/${src.id}`);
    },
  );
  mount(target, section("Sources", h("p", { class: "muted" }, "Each source is an inbound webhook URL. Open one to watch its events live."), box), section("Create a source", create));
  try {
    const page = await api.list(SOURCES, { limit: 250, order: "descending" }); // newest first
    mount(
      box,
      table(
        [
          { title: "Name", render: (s) => h("a", { href: `#/sources/${s.id}`, class: "source-link" }, s.name) },
          { title: "Type", render: (s) => h("span", { class: "source-type" }, sourceType(s)) },
          { title: "Ingest URL", render: (s) => h("code", { class: "wrap" }, s.ingestUrl || "") },
          { title: "Created", render: (s) => formatTime(s.createdAt) },
        ],
        page.data,
        { empty: "No sources yet: create one below." },
      ),
    );
  } catch (err) {
    mount(box, errorBox(err));
  }
}

// The provider whose requests a source verifies: its type, or the provider a generic source names.
export function sourceType(source) {
  const provider = source.config && source.config.provider;
  return source.type === "generic-webhook" && provider ? provider : source.type || "generic-webhook";
}

// The key in the ingest URL (/webhook/{key}) is also what listeners connect with (/listen/{key}).
export function ingestKey(source) {
  const match = /\/webhook\/([^/?#]+)/.exec(source.ingestUrl || "");
  return match ? match[1] : null;
}

function eventRow(src, evt) {
  const when = evt.receivedAt || evt.timestamp || evt.createdAt;
  return h(
    "tr",
    { class: "event-row", dataset: { event: evt.id } },
    h("td", {}, formatTime(when)),
    h("td", {}, badge(evt.method || "?")),
    h("td", {}, h("a", { href: `#/sources/${enc(src)}/events/${enc(evt.id)}`, class: "event-link" }, evt.path || "/")),
    h("td", {}, evt.eventType || ""),
    h("td", { class: "preview" }, preview(evt.body)),
  );
}

function preview(body) {
  if (body === undefined || body === null) return "";
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

// Stored events first, then new ones as they arrive over Server-Sent Events from /listen/{key}.
function liveTail(api, source, tbody, status) {
  const key = ingestKey(source);
  const seen = new Set();
  const add = (evt, live) => {
    if (seen.has(evt.id)) return;
    seen.add(evt.id);
    const row = eventRow(source.id, evt);
    if (live) row.classList.add("fresh");
    tbody.prepend(row);
    document.getElementById("tail-empty")?.remove();
  };
  const load = (limit, live) =>
    api
      .list(`${sourcePath(source.id)}/event`, { limit })
      .then((page) => [...page.data].reverse().forEach((evt) => add(evt, live)));
  load(50, false).catch((err) => status.replaceChildren(errorBox(err)));
  // A routed source sends a listener only the events of its keys; the operator wants them all.
  const routed = Boolean(source.settings && source.settings.routeKeyPath);
  const poll = routed ? setInterval(() => load(20, true).catch(() => {}), 2000) : null;
  const stop = () => poll && clearInterval(poll);
  if (!key) return stop;
  const url = new URL(`/listen/${enc(key)}`, window.location.origin);
  const secret = source.settings && source.settings.listenSecret;
  if (secret) url.searchParams.set("secret", secret);
  const stream = new EventSource(url);
  stream.onopen = () => {
    status.textContent = routed ? "● live (routed source: also polling)" : "● live";
    status.className = "live on";
  };
  stream.onerror = () => {
    status.textContent = "○ reconnecting…";
    status.className = "live off";
  };
  stream.onmessage = (message) => {
    try {
      add(JSON.parse(message.data), true);
    } catch {
      /* a keep-alive or a frame that is not an event */
    }
  };
  return () => {
    stop();
    stream.close();
  };
}

// "Name: value" lines (the tester's and the reply form's headers) as an object.
export function headerLines(text) {
  const headers = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`Header line "${line}" must look like "Name: value".`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function testForm(api, source) {
  const result = h("div", { id: "test-result" });
  const tester = form(
    { id: "test-request" },
    [
      h("div", { class: "row" },
        field("Method", select("method", ["POST", "GET", "PUT", "PATCH", "DELETE"].map((m) => [m, m]), "POST")),
        field("Sub-path and query", input("path", { placeholder: "/orders?action=created", class: "grow" }))),
      field("Headers (one per line)", textarea("headers", { rows: 3, value: "Content-Type: application/json" })),
      field("Body", textarea("body", { rows: 6, value: '{\n  "action": "test"\n}' })),
      formError(),
      submit("Send test request"),
    ],
    async (f) => {
      const path = value(f, "path") || "/";
      const body = {
        method: value(f, "method"),
        path: path.startsWith("/") ? path : `/${path}`,
        headers: headerLines(value(f, "headers")),
        body: f.elements.namedItem("body").value,
      };
      const answer = await api.post(`${sourcePath(source.id)}/test`, body);
      const status = answer.status;
      const stored = answer.eventId ? h("a", { href: `#/sources/${enc(source.id)}/events/${enc(answer.eventId)}`, id: "test-event-link" }, `inspect ${answer.eventId}`) : null;
      mount(
        result,
        h("h3", {}, "The caller got ", badge(String(status), status < 300 ? "ok" : "bad"), " ", stored),
        code(answer.bodyEncoding === "base64" ? `(base64) ${answer.body}` : answer.body),
      );
      toast("Test request sent");
    },
  );
  return section("Send a test request", h("p", { class: "muted" }, "Runs the whole pipeline (auth, verification, validation, listeners, destinations) as a real request would."), tester, result);
}

export async function sourceDetail(api, target, srcId, isCurrent) {
  const source = await api.get(sourcePath(srcId));
  if (!isCurrent()) return undefined;
  const tbody = h("tbody", { id: "tail" }, h("tr", { id: "tail-empty" }, h("td", { colspan: 5, class: "muted" }, "No events yet. Send a request to the ingest URL or use the tester below.")));
  const status = h("span", { class: "live off", id: "tail-status" }, "○ connecting…");
  const rotate = button("Rotate ingest URL", (e) =>
    busy(e.currentTarget, async () => {
      if (!window.confirm("Issue a new ingest URL? The current one stops working.")) return;
      await api.post(`${sourcePath(source.id)}/token/rotate`, {});
      toast("New ingest URL issued");
      rerender(); // closes the tail on the old key and opens one on the new
    }), { id: "rotate-ingest-url" });
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: "#/sources" }, "← Sources")),
    h(
      "section",
      { class: "card" },
      h("h2", { id: "source-name" }, source.name),
      h("dl", { class: "props" },
        h("dt", {}, "Ingest URL"), h("dd", {}, h("code", { id: "ingest-url", class: "wrap" }, source.ingestUrl || "")),
        h("dt", {}, "Listen"), h("dd", {}, h("code", { class: "wrap" }, source.ingestUrl ? source.ingestUrl.replace("/webhook/", "/listen/") : "")),
        h("dt", {}, "ID"), h("dd", {}, h("code", {}, source.id)),
        h("dt", {}, "Type"), h("dd", { id: "source-type" }, sourceType(source)),
        h("dt", {}, "Auth"), h("dd", {}, (source.settings && source.settings.auth && source.settings.auth.type) || "none")),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: `#/sources/${enc(source.id)}/settings`, id: "source-settings-link" }, "Settings"),
        h("a", { class: "btn", href: `#/sources/${enc(source.id)}/destinations`, id: "source-destinations-link" }, "Destinations"),
        rotate),
    ),
    section("Events", h("p", {}, status), scroller(h("table", { class: "table events" },
      h("thead", {}, h("tr", {}, ["Received", "Method", "Path", "Event type", "Body"].map((t) => h("th", {}, t)))), tbody))),
    testForm(api, source),
  );
  return liveTail(api, source, tbody, status);
}
