// Form helpers shared by the views: read inputs into API bodies, parse JSON fields with clear errors.

import { h } from "./dom.js";

export function input(name, attrs = {}) {
  return h("input", { name, id: attrs.id || `f-${name}`, ...attrs });
}

export function textarea(name, attrs = {}) {
  const { value, ...rest } = attrs;
  const el = h("textarea", { name, id: attrs.id || `f-${name}`, rows: 6, spellcheck: "false", ...rest });
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

export function select(name, options, selected, attrs = {}) {
  return h(
    "select",
    { name, id: attrs.id || `f-${name}`, ...attrs },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

export function checkbox(name, checked, attrs = {}) {
  return h("input", { type: "checkbox", name, id: attrs.id || `f-${name}`, checked: Boolean(checked), ...attrs });
}

export function value(form, name) {
  const el = form.elements.namedItem(name);
  if (!el) return undefined;
  if (el.type === "checkbox") return el.checked;
  return el.value.trim();
}

export function optional(form, name) {
  const v = value(form, name);
  return v === "" ? null : v;
}

export function list(form, name) {
  const v = value(form, name);
  if (!v) return null;
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
}

export function integer(form, name) {
  const v = value(form, name);
  if (v === "" || v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be a whole number`);
  return n;
}

export function json(form, name, label = name) {
  const v = value(form, name);
  if (!v) return null;
  try {
    return JSON.parse(v);
  } catch (err) {
    throw new Error(`${label} is not valid JSON: ${err.message}`);
  }
}

// A form whose submit runs `action(form)`; the submit button is disabled while it runs.
export function form(attrs, children, action) {
  const el = h("form", { class: "form", novalidate: false, ...attrs }, children);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = el.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    const error = el.querySelector(".form-error");
    if (error) error.textContent = "";
    try {
      await action(el);
    } catch (err) {
      if (error) error.textContent = err.message || String(err);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
  return el;
}

export function formError() {
  return h("p", { class: "form-error", role: "alert" });
}

export function submit(label) {
  return h("button", { type: "submit", class: "btn btn-primary" }, label);
}
