// The page frame both pages share: the navigation highlight and the dashboard's sign-in screen.

import { field, h, main, mount } from "../lib/dom.js";
import { form, formError, input, submit, value } from "../lib/forms.js";

export function markNav(nav, path) {
  const section = path.split("/")[1] || "";
  for (const link of nav.querySelectorAll("a[data-section]")) {
    link.classList.toggle("active", link.dataset.section === section);
  }
}

// Shows the sign-in form; resolves once an org token has been checked and stored.
export function signIn(api, message) {
  return new Promise((resolve) => {
    document.getElementById("nav").hidden = true;
    const signInForm = form(
      { id: "sign-in" },
      [
        field("API token", input("token", { type: "password", required: true, autocomplete: "off", placeholder: "sk_…" }), "An org token from `hookhub token create` (or printed at first start)."),
        formError(),
        submit("Sign in"),
      ],
      async (f) => {
        api.token = value(f, "token");
        let session;
        try {
          session = await api.session();
        } catch (err) {
          api.token = null;
          throw new Error(err.status === 401 ? "That token is not valid." : err.message);
        }
        if (session.scope !== "org") {
          api.token = null;
          throw new Error("This token is scoped to one application: open the consumer portal link instead.");
        }
        resolve(session);
      },
    );
    mount(
      main(),
      h("section", { class: "card sign-in" }, h("h2", {}, "Sign in"), message ? h("p", { class: "error-box" }, message) : null, signInForm),
    );
    signInForm.querySelector("input").focus();
  });
}
