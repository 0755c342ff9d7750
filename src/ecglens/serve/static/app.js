// Entry point: session, login screen and the hash router (#/ worklist, #/ecg/<id>, and for
// admins #/admin/users, #/admin/keys, #/admin/audit).
import { api, ApiError, setCsrf } from "./api.js";
import { announce, clear, h, uid } from "./dom.js";
import { roleCanRead } from "./format.js";
import { renderWorklist } from "./worklist.js";
import { renderEcg } from "./ecgview.js";
import { renderKeys, renderUsers } from "./admin.js";
import { renderAudit } from "./audit.js";

const ADMIN_ROUTES = { users: renderUsers, keys: renderKeys, audit: renderAudit };

const state = { user: null, cleanup: null };
const main = () => document.getElementById("main");

function setSession(user) {
  state.user = user;
  setCsrf(user ? user.csrf_token : null);
  document.getElementById("session").hidden = !user;
  document.getElementById("nav").hidden = !user;
  document.getElementById("session-user").textContent = user ? user.username : "";
  document.getElementById("session-role").textContent = user ? user.role : "";
  document.body.dataset.role = user ? user.role : "";
  // the API refuses these to everyone else anyway; hiding them keeps the bar honest
  for (const link of document.querySelectorAll("#nav .admin-only")) {
    link.hidden = !user || user.role !== "admin";
  }
  document.getElementById("footer").hidden = !user;
  if (user) showVersion();
}

async function showVersion() {
  try {
    const v = await api.version();
    document.getElementById("version").textContent =
      `ecglens ${v.ecglens} · model ${v.model} · result schema ${v.schema_version}`;
  } catch {
    /* the footer is informative only */
  }
}

function renderLogin(message = "") {
  const root = clear(main());
  const userId = uid("user");
  const passId = uid("pass");
  const error = h("p", { class: "form-error", role: "alert", text: message, hidden: !message });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Sign in" });
  const form = h("form", { class: "login-card", "aria-labelledby": "login-title", novalidate: true },
    h("h1", { id: "login-title", text: "Sign in" }),
    h("p", { class: "muted", text: "ECG interpretation service" }),
    h("label", { for: userId, text: "Username" }),
    h("input", { id: userId, name: "username", autocomplete: "username", required: true }),
    h("label", { for: passId, text: "Password" }),
    h("input", { id: passId, name: "password", type: "password",
      autocomplete: "current-password", required: true }),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username || !password) {
      error.textContent = "Enter your username and password.";
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      setSession(await api.login(username, password));
      route();
    } catch (e) {
      error.textContent = e.status === 401 ? "Wrong username or password." : e.message;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = "Sign in";
      form.elements.password.select();
    }
  });
  root.append(h("div", { class: "login-wrap" }, form));
  form.elements.username.focus();
}

function notFound(text) {
  clear(main()).append(h("section", { class: "panel" },
    h("h1", { text }), h("p", {}, h("a", { href: "#/", text: "Back to the worklist" }))));
}

function markCurrent(name) {
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (state.cleanup) {
    state.cleanup();
    state.cleanup = null;
  }
  announce("");
  if (!state.user) {
    renderLogin();
    return;
  }
  const hash = location.hash || "#/";
  const ecgMatch = hash.match(/^#\/ecg\/([\w-]+)$/);
  const adminMatch = hash.match(/^#\/admin\/(\w+)$/);
  markCurrent(ecgMatch ? "worklist" : adminMatch ? adminMatch[1] : "worklist");
  try {
    if (adminMatch) {
      const render = ADMIN_ROUTES[adminMatch[1]];
      if (!render) notFound("No such page");
      else if (state.user.role !== "admin") notFound("Administration is for admins");
      else state.cleanup = await render(main(), state.user);
    } else if (ecgMatch) {
      if (!roleCanRead(state.user.role)) {
        notFound("Results are for clinicians");
        return;
      }
      state.cleanup = await renderEcg(main(), ecgMatch[1], state.user);
    } else {
      state.cleanup = await renderWorklist(main(), state.user);
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setSession(null);
      renderLogin("Your session has ended. Please sign in again.");
    } else {
      notFound(e.message || "Something went wrong");
    }
  }
}

async function boot() {
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api.logout();
    } catch {
      /* the session may already be gone; sign out locally anyway */
    }
    setSession(null);
    location.hash = "#/";
    renderLogin();
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("ecglens:unauthorized", () => {
    if (state.cleanup) state.cleanup();
    state.cleanup = null;
    setSession(null);
    renderLogin("Your session has ended. Please sign in again.");
  });
  try {
    setSession(await api.me());
  } catch {
    setSession(null);
  }
  route();
}

boot();
