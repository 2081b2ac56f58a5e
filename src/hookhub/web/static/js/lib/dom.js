// Tiny DOM helpers: build elements without innerHTML, so API data is never parsed as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function mount(target, ...children) {
  target.replaceChildren();
  append(target, children);
  return target;
}

export const main = () => document.getElementById("main");

// A toast belongs to the page it was raised on: the router clears them when the user navigates,
// except across the navigation an action starts itself (go/rerender), so "Source created" follows.
export function toast(message, kind = "ok") {
  const box = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  const toasts = document.getElementById("toasts");
  while (toasts.children.length >= 3) toasts.firstElementChild.remove();
  toasts.append(box);
  setTimeout(() => box.remove(), kind === "error" ? 8000 : 4000);
}

export function clearToasts() {
  document.getElementById("toasts")?.replaceChildren();
}

export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

// A body or payload shown as readable JSON when it is JSON, else as the text it is.
export function pretty(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export function code(value, attrs = {}) {
  return h("pre", { class: "code", ...attrs }, pretty(value));
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind ? `badge-${kind}` : ""}` }, text);
}

// Svix MessageStatus: 0 success, 1 pending, 2 fail, 3 sending.
const STATUS = { 0: ["success", "ok"], 1: ["pending", "wait"], 2: ["failed", "bad"], 3: ["sending", "wait"] };

export function statusBadge(status) {
  const [text, kind] = STATUS[status] || [String(status), ""];
  return badge(text, kind);
}

export function httpBadge(code) {
  const kind = code >= 200 && code < 300 ? "ok" : code >= 400 || code === 0 ? "bad" : "wait";
  return badge(code === 0 ? "no response" : String(code), kind);
}

export function table(columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "muted empty" }, empty);
  return scroller(h(
    "table",
    { class: "table" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", {}, c.render(row))))),
    ),
  ));
}

// A wide table scrolls sideways inside its card instead of widening the page (phones).
export function scroller(tableEl) {
  return h("div", { class: "table-scroll" }, tableEl);
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), input, hint && h("small", { class: "muted" }, hint));
}

export function button(label, onClick, attrs = {}) {
  return h("button", { type: "button", class: "btn", onclick: onClick, ...attrs }, label);
}

// Runs an async action from a button: disables it meanwhile and reports failures as a toast.
export async function busy(el, action) {
  if (el) el.disabled = true;
  try {
    return await action();
  } catch (err) {
    toast(err.message || String(err), "error");
    return undefined;
  } finally {
    if (el) el.disabled = false;
  }
}

export function errorBox(err) {
  return h("div", { class: "error-box", role: "alert" }, err.message || String(err));
}
