// A source's settings: name, auth, provider verification, methods, answer, throttle, validation,
// event type and routing key paths, reply waiting, listeners; auth token rotation; deletion.

import { busy, button, code, field, h, mount, section, toast } from "../lib/dom.js";
import { checkbox, form, formError, input, integer, json, optional, select, submit, textarea, value } from "../lib/forms.js";
import { go } from "../lib/router.js";
import { sourcePath } from "./sources.js";

// The source types come from the server (GET /ui/providers: the verifiers themselves).
let providers = null;
async function providerList(api) {
  providers ??= (await api.get("/ui/providers")).data;
  return providers;
}
const providerOf = (type) => (providers || []).find((p) => p.type === type);
const AUTH = [["none", "None (private URL)"], ["bearer", "Bearer token"], ["header", "API key in a header"], ["basic", "HTTP basic auth"]];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function group(title, ...fields) {
  return h("fieldset", { class: "group" }, h("legend", {}, title), ...fields);
}

function settingsBody(f, source) {
  const s = source.settings || {};
  const authType = value(f, "authType");
  const auth = { type: authType };
  if (authType === "header") auth.header = value(f, "authHeader") || "Authorization";
  if (authType === "basic") {
    auth.username = value(f, "authUsername");
    if (value(f, "authPassword")) auth.password = value(f, "authPassword");
  }
  const methods = METHODS.filter((m) => f.elements.namedItem(`method-${m}`).checked);
  if (!methods.length) throw new Error("Allow at least one HTTP method.");
  const type = value(f, "type");
  const config = json(f, "config", "Verification config") || {};
  delete config.provider; // the type says it
  const secret = value(f, "secret");
  if (secret) config[providerOf(type)?.secretKey || "secret"] = secret;
  const responseBody = value(f, "responseBody");
  return {
    name: value(f, "name"),
    uid: source.uid ?? null,
    metadata: source.metadata || {},
    type,
    config,
    settings: {
      ...s,
      auth,
      methods,
      response: { status: integer(f, "responseStatus") ?? 200, body: responseBody || null, contentType: optional(f, "responseContentType") },
      throttle: { limit: integer(f, "throttleLimit") ?? 100, periodSeconds: Number(value(f, "throttlePeriod") || 10) },
      maxBodyBytes: integer(f, "maxBodyBytes") ?? 1048576,
      schema: json(f, "schema", "Schema"),
      eventTypeFrom: optional(f, "eventTypeFrom"),
      routeKeyPath: optional(f, "routeKeyPath"),
      reply: { wait: value(f, "replyWait"), timeoutSeconds: Number(value(f, "replyTimeout") || 30) },
      listenSecret: optional(f, "listenSecret"),
      listenersMayPublish: value(f, "listenersMayPublish"),
      retentionDays: integer(f, "retentionDays"),
      replayWindowSeconds: integer(f, "replayWindowSeconds"),
    },
  };
}

function authTokenBox(api, source) {
  const out = h("div", { id: "auth-token-out" });
  return section(
    "Auth token",
    h("p", { class: "muted" }, "Bearer and header auth use a token the server generates. It is shown once; rotating it stops the previous one at once."),
    button("Rotate auth token", (e) =>
      busy(e.currentTarget, async () => {
        const { token } = await api.post(`${sourcePath(source.id)}/auth-token/rotate`, {});
        mount(out, h("p", {}, "New token (copy it now): "), code(token, { id: "auth-token" }));
        toast("Auth token rotated");
      }), { id: "rotate-auth-token" }),
    out,
  );
}

// Fields that only matter for some auth types are shown for those only.
function only(types, el) {
  el.dataset.authTypes = types;
  return el;
}

function showAuthFields(f) {
  const type = value(f, "authType");
  for (const el of f.querySelectorAll("[data-auth-types]")) el.hidden = !el.dataset.authTypes.split(" ").includes(type);
}

function showProviderDocs(f) {
  const provider = providerOf(value(f, "type"));
  const where = f.querySelector("#provider-docs");
  where.replaceChildren();
  if (provider?.docs) {
    const needs = provider.secretKey ? `its ${provider.secretKey}` : "its settings";
    where.append(`${provider.title} shows ${needs} and documents its signature `, h("a", { href: provider.docs, target: "_blank", rel: "noopener noreferrer" }, "here"), ".");
  }
}

export async function sourceSettings(api, target, srcId) {
  const [source] = await Promise.all([api.get(sourcePath(srcId)), providerList(api)]);
  const type = source.config?.provider || source.type || "generic-webhook";
  const s = source.settings || {};
  const auth = s.auth || { type: "none" };
  const methods = s.methods || METHODS;
  const settingsForm = form(
    { id: "source-settings" },
    [
      field("Name", input("name", { value: source.name, required: true })),
      group(
        "Authentication",
        field("Type", select("authType", AUTH, auth.type, { onchange: (e) => showAuthFields(e.currentTarget.form) })),
        only("header", field("Header name", input("authHeader", { value: auth.header || "Authorization" }))),
        only("basic", field("Username", input("authUsername", { value: auth.username || "" }))),
        only("basic", field("Password", input("authPassword", { type: "password", autocomplete: "new-password", placeholder: auth.passwordSet ? "unchanged" : "" }))),
        only("bearer header", h("p", { class: "muted" }, "Callers send the token from “Rotate auth token” below.")),
      ),
      group(
        "Signature verification",
        field("Provider", select("type", providers.map((p) => [p.type, p.title]), type, { onchange: (e) => showProviderDocs(e.currentTarget.form) })),
        h("p", { class: "muted", id: "provider-docs" }),
        field("Secret", input("secret", { type: "password", autocomplete: "off", placeholder: "leave empty to keep the current one" })),
        field("Config (JSON)", textarea("config", { rows: 3, value: JSON.stringify(source.config || {}, null, 2) }), "Extra provider settings, e.g. for generic HMAC: header, algorithm, encoding, prefix."),
        field("Timestamp window (s)", input("replayWindowSeconds", { type: "number", min: 1, max: 86400, value: s.replayWindowSeconds ?? "", placeholder: "provider default" }), "For providers that sign a timestamp: how far it may be from now (default: the provider's window, else 300 s; Alexa 150 s at most). Each signed request is accepted once within it."),
      ),
      group(
        "Requests",
        h("div", { class: "row" }, METHODS.map((m) => h("label", { class: "check" }, checkbox(`method-${m}`, methods.includes(m)), ` ${m}`))),
        h("div", { class: "row" },
          field("Throttle: requests", input("throttleLimit", { type: "number", min: 1, value: s.throttle?.limit ?? 100 })),
          field("per seconds", input("throttlePeriod", { type: "number", min: 1, step: "any", value: s.throttle?.periodSeconds ?? 10 })),
          field("Max body bytes", input("maxBodyBytes", { type: "number", min: 0, value: s.maxBodyBytes ?? 1048576 }))),
        field("Body JSON Schema", textarea("schema", { rows: 5, value: s.schema ? JSON.stringify(s.schema, null, 2) : "" }), "Requests whose body does not match get 400 with each violation."),
        field("Event type from", input("eventTypeFrom", { value: s.eventTypeFrom || "", placeholder: "body.action or headers['X-GitHub-Event']" })),
      ),
      group(
        "Answer",
        h("div", { class: "row" },
          field("Status", input("responseStatus", { type: "number", min: 200, max: 599, value: s.response?.status ?? 200 })),
          field("Content type", input("responseContentType", { value: s.response?.contentType || "" }))),
        field("Body", input("responseBody", { value: typeof s.response?.body === "string" ? s.response.body : s.response?.body ? JSON.stringify(s.response.body) : "" })),
        h("label", { class: "check" }, checkbox("replyWait", s.reply?.wait), " Wait for a listener's reply"),
        field("Reply timeout (s)", input("replyTimeout", { type: "number", min: 1, max: 300, value: s.reply?.timeoutSeconds ?? 30 })),
      ),
      group(
        "Listeners",
        field("Routing key path", input("routeKeyPath", { value: s.routeKeyPath || "", placeholder: "query.homey or headers['X-Device-Id']" })),
        field("Listen secret", input("listenSecret", { value: s.listenSecret || "", autocomplete: "off" })),
        h("label", { class: "check" }, checkbox("listenersMayPublish", s.listenersMayPublish), " Listeners may send messages back to producers"),
        field("Keep events for (days)", input("retentionDays", { type: "number", min: 1, value: s.retentionDays ?? "" })),
      ),
      formError(),
      submit("Save settings"),
    ],
    async (f) => {
      await api.put(sourcePath(source.id), settingsBody(f, source));
      toast("Settings saved");
      go(`/sources/${source.id}`);
    },
  );
  showAuthFields(settingsForm);
  showProviderDocs(settingsForm);
  const remove = button("Delete source", (e) =>
    busy(e.currentTarget, async () => {
      if (!window.confirm(`Delete ${source.name} and its events?`)) return;
      await api.delete(sourcePath(source.id));
      toast("Source deleted");
      go("/sources");
    }), { class: "btn btn-danger" });
  mount(
    target,
    h("p", { class: "crumbs" }, h("a", { href: `#/sources/${source.id}` }, `← ${source.name}`)),
    section("Source settings", settingsForm),
    authTokenBox(api, source),
    section("Danger zone", remove),
  );
}
