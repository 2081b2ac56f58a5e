// Endpoints of one application: list, add, edit, disable, secret, attempts, chart, recover.
// Shared by the dashboard and the consumer portal; `ctx` is {api, appId, href(path), readOnly}.
// A read-only ctx (a read-only portal link) gets no control that would write: the API refuses them.

import { enc } from "../lib/api.js";
import { successChart } from "../lib/chart.js";
import {
  badge,
  busy,
  button,
  code,
  errorBox,
  field,
  formatTime,
  h,
  httpBadge,
  mount,
  section,
  statusBadge,
  table,
  toast,
} from "../lib/dom.js";
import { checkbox, form, formError, input, integer, list, optional, submit, textarea, value } from "../lib/forms.js";
import { go } from "../lib/router.js";

// The owner of the endpoints: an application, or a source (its destinations) when ctx.base is set.
const base = (ctx) => ctx.base || `/api/v1/app/${enc(ctx.appId)}`;
const filterTypes = (ep) => ep.filterTypes || ep.eventTypes || null;
// A source's destinations list their attempts under the destination; an application's under /attempt.
const attemptsPath = (ctx, epId) => (ctx.attemptsPath ? ctx.attemptsPath(epId) : `${base(ctx)}/attempt/endpoint/${enc(epId)}`);

// Names of the event types an endpoint can subscribe to, offered as clickable suggestions.
function eventTypeHints(ctx, typesInput) {
  const box = h("small", { class: "muted hints" });
  ctx.api
    .list("/api/v1/event-type", { limit: 250 })
    .then((page) => {
      const names = page.data.filter((t) => !t.archived).map((t) => t.name);
      if (!names.length) return;
      mount(box, "Known: ", names.map((name) =>
        h("button", { type: "button", class: "chip", onclick: () => {
          const current = typesInput.value.split(",").map((s) => s.trim()).filter(Boolean);
          if (!current.includes(name)) typesInput.value = [...current, name].join(", ");
        } }, name)));
    })
    .catch(() => {});
  return box;
}

export function endpointForm(ctx, endpoint, onSaved) {
  const ep = endpoint || {};
  const typesInput = input("filterTypes", { value: (filterTypes(ep) || []).join(", "), placeholder: "all" });
  return form(
    { id: endpoint ? "endpoint-edit" : "endpoint-create" },
    [
      field("URL", input("url", { type: "url", required: true, value: ep.url || "", placeholder: "https://example.com/webhooks" })),
      field("Description", input("description", { value: ep.description || "" })),
      field("Event types", typesInput, "Comma-separated; empty receives every event type."),
      ctx.base ? null : eventTypeHints(ctx, typesInput),
      field("Channels", input("channels", { value: (ep.channels || []).join(", "), placeholder: "all" })),
      field("Rate limit (messages/s)", input("throttleRate", { type: "number", min: 1, value: ep.throttleRate ?? ep.rateLimit ?? "" })),
      endpoint ? null : field("UID", input("uid", { value: "" }), "Optional; usable instead of the id."),
      formError(),
      submit(endpoint ? "Save endpoint" : "Add endpoint"),
    ],
    async (f) => {
      const types = list(f, "filterTypes");
      const body = {
        url: value(f, "url"),
        description: value(f, "description"),
        filterTypes: types,
        channels: list(f, "channels"),
        throttleRate: integer(f, "throttleRate"),
      };
      if (!endpoint && optional(f, "uid")) body.uid = optional(f, "uid");
      const saved = endpoint
        ? await ctx.api.patch(`${base(ctx)}/endpoint/${enc(endpoint.id)}`, body)
        : await ctx.api.post(`${base(ctx)}/endpoint`, body);
      toast(endpoint ? "Endpoint saved" : "Endpoint added");
      onSaved(saved);
    },
  );
}

export async function endpointList(ctx, target) {
  const page = await ctx.api.list(`${base(ctx)}/endpoint`);
  const rows = page.data;
  const charts = h("div", { class: "chart-grid" });
  mount(
    target,
    table(
      [
        { title: "URL", render: (ep) => h("a", { href: ctx.href(`/endpoints/${ep.id}`), class: "endpoint-link" }, ep.url) },
        { title: "Description", render: (ep) => ep.description },
        { title: "Event types", render: (ep) => (filterTypes(ep) || ["all"]).join(", ") },
        { title: "Status", render: (ep) => (ep.disabled ? badge("disabled", "bad") : badge("enabled", "ok")) },
      ],
      rows,
      { empty: "No endpoints yet." },
    ),
    rows.length ? h("h3", {}, "Delivery success over time") : null,
    charts,
  );
  // One small chart per endpoint, loaded after the table so the page shows at once.
  for (const ep of rows.slice(0, 12)) {
    const box = h("figure", { class: "chart-box" }, h("figcaption", {}, ep.url));
    charts.append(box);
    ctx.api
      .list(attemptsPath(ctx, ep.id), { limit: 250 })
      .then((attempts) => box.append(successChart(attempts.data, { width: 300, height: 90, title: ep.url })))
      .catch(() => box.append(h("p", { class: "muted" }, "No statistics.")));
  }
  return rows;
}

export async function endpointsView(ctx, target) {
  const listBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const create = ctx.readOnly ? null : endpointForm(ctx, null, (ep) => go(ctx.href(`/endpoints/${ep.id}`).slice(1)));
  mount(target, section("Endpoints", listBox), create && section("Add an endpoint", create));
  try {
    await endpointList(ctx, listBox);
  } catch (err) {
    mount(listBox, errorBox(err));
  }
}

function secretBox(ctx, ep) {
  if (ctx.readOnly) {
    // The API refuses signing secrets to a read-only link.
    return section("Signing secret", h("p", { class: "muted", id: "endpoint-secret" }, "Not shown with read-only access."));
  }
  const shown = h("code", { class: "secret", id: "endpoint-secret" }, "••••••••••••");
  const path = `${base(ctx)}/endpoint/${enc(ep.id)}/secret`;
  const reveal = async () => {
    const secret = await ctx.api.get(path);
    shown.textContent = secret.key;
  };
  return section(
    "Signing secret",
    h("p", {}, shown),
    h(
      "div",
      { class: "actions" },
      button("Reveal", (e) => busy(e.currentTarget, reveal), { id: "reveal-secret" }),
      button(
        "Rotate secret",
        (e) =>
          busy(e.currentTarget, async () => {
            if (!window.confirm("Rotate the signing secret? The old one keeps signing for a grace period.")) return;
            await ctx.api.post(`${path}/rotate`, { key: null });
            await reveal();
            toast("Secret rotated");
          }),
        { id: "rotate-secret" },
      ),
    ),
  );
}

function headersBox(ctx, ep) {
  const path = `${base(ctx)}/endpoint/${enc(ep.id)}/headers`;
  if (ctx.readOnly) {
    const shown = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    ctx.api.get(path).then((r) => mount(shown, code(r.headers || {}, { id: "endpoint-headers" }))).catch((err) => mount(shown, errorBox(err)));
    return section("Custom headers", shown);
  }
  const area = textarea("headers", { rows: 4, placeholder: '{"X-Custom": "value"}' });
  ctx.api.get(path).then((r) => (area.value = JSON.stringify(r.headers || {}, null, 2))).catch(() => {});
  return section(
    "Custom headers",
    form({ id: "headers-form" }, [field("Headers sent with every delivery (JSON)", area), formError(), submit("Save headers")], async (f) => {
      let headers;
      try {
        headers = JSON.parse(value(f, "headers") || "{}");
      } catch (err) {
        throw new Error(`Headers are not valid JSON: ${err.message}`);
      }
      await ctx.api.put(path, { headers });
      toast("Headers saved");
    }),
  );
}

function recoverBox(ctx, ep) {
  const since = new Date(Date.now() - 24 * 3600_000);
  const local = new Date(since.getTime() - since.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  return section(
    "Recover failed messages",
    form({ id: "recover-form", class: "form form-inline" }, [field("Since", input("since", { type: "datetime-local", value: local, required: true })), submit("Recover"), formError()], async (f) => {
      const when = new Date(value(f, "since"));
      if (Number.isNaN(when.getTime())) throw new Error("Pick a time to recover from.");
      const task = await ctx.api.post(`${base(ctx)}/endpoint/${enc(ep.id)}/recover`, { since: when.toISOString() });
      toast("Recovery started: looking for messages that failed since then");
      const here = window.location.hash;
      const done = await finishedTask(ctx, task);
      if (!done) return; // still running after a minute: the task goes on without the page
      if (window.location.hash !== here) return; // its notice belongs to this page, which is gone
      const sent = done.data?.messagesSent ?? 0;
      if (done.status === "failed") toast("Recovery failed", "error");
      else if (sent) toast(`Recovery finished: ${sent} failed message${sent === 1 ? "" : "s"} sent again`);
      else toast("Nothing to recover: no message failed for good since then");
    }),
  );
}

// Follow a background task (recover, replays) until it ends; null if it outlasts a minute.
async function finishedTask(ctx, task) {
  for (let waited = 0; task.status === "running" && waited < 60_000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    task = await ctx.api.get(`/api/v1/background-task/${enc(task.id)}`);
  }
  return task.status === "running" ? null : task;
}

export function attemptsTable(ctx, attempts, { showEndpoint = false, showMessage = true } = {}) {
  return table(
    [
      { title: "Time", render: (a) => formatTime(a.timestamp) },
      showMessage ? { title: ctx.source ? "Event" : "Message", render: (a) => h("a", { href: ctx.href(`/messages/${a.msgId}`), class: "attempt-msg" }, a.msgId) } : null,
      showEndpoint ? { title: "Endpoint", render: (a) => h("a", { href: ctx.href(`/endpoints/${a.endpointId}`) }, a.url) } : null,
      { title: "Status", render: (a) => statusBadge(a.status) },
      { title: "HTTP", render: (a) => httpBadge(a.responseStatusCode) },
      { title: "Duration", render: (a) => (a.responseDurationMs != null ? `${a.responseDurationMs} ms` : "") },
      { title: "Trigger", render: (a) => (a.triggerType === 1 ? "manual" : "scheduled") },
      {
        title: "",
        render: (a) =>
          h("details", { class: "response" }, h("summary", {}, "response"), code(a.response || "")),
      },
      ctx.readOnly || ctx.source
        ? null
        : {
            title: "",
            render: (a) =>
              button("Resend", (e) => busy(e.currentTarget, () => resend(ctx, a.msgId, a.endpointId)), { class: "btn btn-small resend" }),
          },
    ].filter(Boolean),
    attempts,
    { empty: "No delivery attempts yet.", rowAttrs: (a) => ({ class: "attempt-row", dataset: { attempt: a.id } }) },
  );
}

export async function resend(ctx, msgId, endpointId) {
  await ctx.api.post(`${base(ctx)}/msg/${enc(msgId)}/endpoint/${enc(endpointId)}/resend`);
  toast("Resend queued");
}

export async function endpointDetail(ctx, target, endpointId) {
  const path = `${base(ctx)}/endpoint/${enc(endpointId)}`;
  const ep = await ctx.api.get(path);
  const attemptsBox = h("div", {}, h("p", { class: "muted" }, "Loading attempts…"));
  const chartBox = h("div", { class: "chart-wide" });
  const stats = h("div", { class: "stats" });
  const edit = ctx.readOnly ? null : h("details", { class: "card" }, h("summary", {}, "Edit endpoint"), endpointForm(ctx, ep, () => endpointDetail(ctx, target, ep.id)));
  const toggle = button(ep.disabled ? "Enable" : "Disable", (e) =>
    busy(e.currentTarget, async () => {
      await ctx.api.patch(path, { disabled: !ep.disabled });
      toast(ep.disabled ? "Endpoint enabled" : "Endpoint disabled");
      await endpointDetail(ctx, target, ep.id);
    }), { id: "toggle-endpoint" });
  const remove = button("Delete", (e) =>
    busy(e.currentTarget, async () => {
      if (!window.confirm(`Delete endpoint ${ep.url}?`)) return;
      await ctx.api.delete(path);
      toast("Endpoint deleted");
      go(ctx.href("/endpoints").slice(1));
    }), { class: "btn btn-danger" });
  const refresh = button("Refresh", (e) => busy(e.currentTarget, loadAttempts), { id: "refresh-attempts" });

  async function loadAttempts() {
    const page = await ctx.api.list(attemptsPath(ctx, ep.id), { limit: 250 });
    mount(chartBox, successChart(page.data, { width: 640, height: 160, buckets: 24, title: ep.url }));
    mount(attemptsBox, attemptsTable(ctx, page.data.slice(0, 50)));
    if (ctx.source) return; // the stats endpoint is an application's
    ctx.api.get(`${path}/stats`).then((s) => mount(stats, ["success", "pending", "sending", "fail"].map((k) => badge(`${k}: ${s[k] ?? 0}`)))).catch(() => {});
  }

  const deliveries = [
    section("Delivery success over time", stats, chartBox),
    section(
      "Delivery attempts",
      ctx.source ? h("p", { class: "muted" }, "To send an event again, replay it from its page.") : null,
      h("div", { class: "actions" }, refresh),
      attemptsBox,
    ),
  ];
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: ctx.href("/endpoints") }, ctx.source ? "← Destinations" : "← Endpoints")),
    h(
      "section",
      { class: "card" },
      h("h2", { class: "endpoint-url" }, ep.url, " ", ep.disabled ? badge("disabled", "bad") : badge("enabled", "ok")),
      h("dl", { class: "props" },
        h("dt", {}, "ID"), h("dd", {}, h("code", {}, ep.id)),
        h("dt", {}, "Description"), h("dd", {}, ep.description || "—"),
        h("dt", {}, "Event types"), h("dd", {}, (filterTypes(ep) || ["all"]).join(", ")),
        h("dt", {}, "Created"), h("dd", {}, formatTime(ep.createdAt))),
      ctx.readOnly ? null : h("div", { class: "actions" }, toggle, remove),
    ),
    edit,
    deliveries,
    secretBox(ctx, ep),
    headersBox(ctx, ep),
    ctx.source || ctx.readOnly ? null : recoverBox(ctx, ep),
  );
  try {
    await loadAttempts();
  } catch (err) {
    mount(attemptsBox, errorBox(err));
  }
}
