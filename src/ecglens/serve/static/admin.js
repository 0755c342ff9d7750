// Administration (role admin): users and API keys. Every error the API returns is shown in
// words next to the form that caused it; nothing is kept in the browser but the screen.
import { api } from "./api.js";
import { announce, clear, h, uid } from "./dom.js";
import { formatDateTime } from "./format.js";

const ROLES = [
  ["clinician", "Clinician — reads, overreads, signs"],
  ["technician", "Technician — uploads, sees quality"],
  ["admin", "Admin — users, keys, audit log"],
];

/** A labelled field: label above, control below, optional hint tied to it. */
function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h("span", { id: uid("hint"), class: "muted small", text: hint });
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control, hintEl);
}

/** The error line of a form: role=alert so it is read out when it appears. */
function errorLine() {
  const p = h("p", { class: "form-error", role: "alert", hidden: true });
  return {
    el: p,
    show(text) { p.textContent = text; p.hidden = !text; },
  };
}

function pageHead(title, count) {
  return h("div", { class: "page-head" }, h("h1", { id: uid("title"), text: title }), count);
}

function table(caption, headers, rows, empty) {
  return h("table", { class: "worklist admin-table" },
    h("caption", { class: "sr-only", text: caption }),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.length ? rows
      : h("tr", {}, h("td", { colspan: headers.length, class: "empty", text: empty }))));
}

function activeBadge(active, textOn = "Active", textOff = "Inactive") {
  return h("span", { class: `badge ${active ? "status-done" : "read"}`, text: active ? textOn : textOff });
}

// ---------------------------------------------------------------- users

function userForm(onCreated) {
  const error = errorLine();
  const username = h("input", { name: "username", autocomplete: "off", required: true,
    maxlength: 64, pattern: "[A-Za-z0-9._@\\-]+", spellcheck: "false" });
  const role = h("select", { name: "role" },
    ROLES.map(([v, text]) => h("option", { value: v, text })));
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
  const repeat = h("input", { name: "repeat", type: "password", autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Create user" });
  const form = h("form", { class: "admin-form", "aria-label": "Create a user", novalidate: true },
    h("h2", { text: "New user" }),
    h("div", { class: "form-grid" },
      field("User name", username, "Letters, digits and . _ @ -"),
      field("Role", role),
      field("Password", password, "Empty: an account for a device, which signs in with an API key only"),
      field("Repeat password", repeat)),
    error.el,
    h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = username.value.trim();
    if (!name) return error.show("Enter a user name.");
    if (!/^[A-Za-z0-9._@-]+$/.test(name)) {
      return error.show("A user name may hold only letters, digits and . _ @ -");
    }
    if (password.value !== repeat.value) return error.show("The two passwords differ.");
    error.show("");
    submit.disabled = true;
    try {
      const user = await api.addUser({ username: name, role: role.value,
        password: password.value || null });
      form.reset();
      onCreated(user);
    } catch (e) {
      error.show(`The user was not created: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function renderUsers(root) {
  const count = h("p", { class: "muted count", role: "status" });
  const listPanel = h("section", { class: "panel table-panel", "aria-label": "Users" });
  const done = h("p", { class: "form-done", role: "status" });
  async function load() {
    let users;
    try {
      users = await api.users();
    } catch (e) {
      if (e.status === 401) throw e;
      clear(listPanel).append(h("p", { class: "form-error pad", text: `Could not load the users: ${e.message}` }));
      return;
    }
    count.textContent = `${users.length} user${users.length === 1 ? "" : "s"}`;
    clear(listPanel).append(table("Users", ["ID", "User name", "Role", "Status", "Created"],
      users.map((u) => h("tr", { "data-username": u.username },
        h("td", { class: "num", text: u.id }),
        h("td", { class: "strong", text: u.username }),
        h("td", {}, h("span", { class: "chip", text: u.role })),
        h("td", {}, activeBadge(u.active)),
        h("td", { class: "nowrap", text: formatDateTime(u.created_at) }))),
      "No users yet."));
  }
  const form = userForm(async (user) => {
    done.textContent = `User ${user.username} (${user.role}) created.`;
    announce(done.textContent);
    await load();
  });
  clear(root).append(pageHead("Users", count),
    h("div", { class: "admin-layout" }, listPanel, h("section", { class: "panel" }, form, done)));
  await load();
  return null;
}

// ---------------------------------------------------------------- API keys

/** Copy text to the clipboard; plain-http clinic installs have no Clipboard API, so fall back. */
async function copyText(input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(input.value);
      return true;
    }
  } catch {
    /* denied: try the selection route */
  }
  input.select();
  return document.execCommand("copy");
}

/** The new key, shown once: the API keeps only its hash. */
function newKeyBox(key, onDone) {
  const input = h("input", { class: "key-value", readonly: true, value: key.key, spellcheck: "false",
    "aria-label": `API key for ${key.name}` });
  const copied = h("span", { class: "muted small", role: "status" });
  const copy = h("button", { type: "button", class: "btn btn-primary btn-small", text: "Copy" });
  copy.addEventListener("click", async () => {
    copied.textContent = (await copyText(input)) ? "Copied." : "Select the key and copy it by hand.";
  });
  input.addEventListener("focus", () => input.select());
  const box = h("section", { class: "new-key", "aria-labelledby": "new-key-title", tabindex: "-1" },
    h("h2", { id: "new-key-title", text: `New API key “${key.name}” for ${key.username}` }),
    h("p", { class: "once" }, h("strong", { text: "Copy it now: it will not be shown again." }),
      " Only a hash of it is stored; a lost key cannot be recovered, only revoked and replaced."),
    h("div", { class: "key-row" }, input, copy, copied),
    h("p", { class: "muted small" }, "Programs send it as ",
      h("code", { text: "Authorization: Bearer <key>" }), " or ", h("code", { text: "X-API-Key: <key>" }), "."),
    h("div", { class: "form-actions" },
      h("button", { type: "button", class: "btn btn-quiet", text: "I have stored the key",
        onclick: onDone })));
  return box;
}

function keyForm(users, onCreated) {
  const error = errorLine();
  const active = users.filter((u) => u.active);
  const user = h("select", { name: "username" },
    active.map((u) => h("option", { value: u.username, text: `${u.username} (${u.role})` })));
  const name = h("input", { name: "name", autocomplete: "off", required: true, maxlength: 64 });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Create key",
    disabled: !active.length });
  const form = h("form", { class: "admin-form", "aria-label": "Create an API key", novalidate: true },
    h("h2", { text: "New API key" }),
    h("div", { class: "form-grid" },
      field("For user", user, "The key acts with this user's role"),
      field("Key name", name, "Where it is used, e.g. cart-3 or the PACS bridge")),
    error.el,
    h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) return error.show("Name the key: where will it be used?");
    error.show("");
    submit.disabled = true;
    try {
      const key = await api.addKey(user.value, name.value.trim());
      name.value = "";
      onCreated(key);
    } catch (e) {
      error.show(`The key was not created: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** Revoke in two steps: the button turns into a question with its own confirm and cancel. */
function revokeCell(key, onRevoked, showError) {
  const cell = h("td", { class: "actions" });
  const ask = () => {
    const confirm = h("button", { type: "button", class: "btn btn-danger btn-small", text: "Revoke now" });
    const cancel = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Cancel",
      onclick: idle });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await api.revokeKey(key.id);
        onRevoked(key);
      } catch (e) {
        showError(`Key ${key.id} was not revoked: ${e.message}`);
        idle();
      }
    });
    clear(cell).append(h("span", { class: "confirm", role: "group",
      "aria-label": `Confirm revoking key ${key.name}` },
    h("span", { class: "small", text: "Programs using it stop at once." }), confirm, cancel));
    cancel.focus();
  };
  function idle() {
    clear(cell).append(h("button", { type: "button", class: "btn btn-quiet btn-small",
      text: "Revoke…", "aria-label": `Revoke key ${key.name}`, onclick: ask }));
  }
  if (!key.revoked_at) idle();
  return cell;
}

export async function renderKeys(root) {
  const count = h("p", { class: "muted count", role: "status" });
  const listPanel = h("section", { class: "panel table-panel", "aria-label": "API keys" });
  const side = h("section", { class: "panel" });
  const shown = h("div", { class: "new-key-slot" });
  const tableError = errorLine();
  let users = [];

  function showError(text) {
    tableError.show(text);
  }
  async function load() {
    let keys;
    try {
      [keys, users] = await Promise.all([api.keys(), api.users()]);
    } catch (e) {
      if (e.status === 401) throw e;
      clear(listPanel).append(h("p", { class: "form-error pad", text: `Could not load the keys: ${e.message}` }));
      return;
    }
    const live = keys.filter((k) => !k.revoked_at).length;
    count.textContent = `${keys.length} key${keys.length === 1 ? "" : "s"}, ${live} active`;
    // newest first: the key just made is at the top
    const rows = [...keys].reverse().map((k) => h("tr", { "data-key-id": k.id, class: k.revoked_at ? "revoked" : "" },
      h("td", { class: "num", text: k.id }),
      h("td", { class: "strong", text: k.name }),
      h("td", { text: k.username }),
      h("td", {}, h("code", { class: "code", text: `${k.prefix}…` })),
      h("td", { class: "nowrap", text: formatDateTime(k.created_at) }),
      h("td", {}, k.revoked_at
        ? h("span", { class: "badge status-failed", text: `Revoked ${formatDateTime(k.revoked_at)}` })
        : activeBadge(true)),
      revokeCell(k, async (revoked) => {
        tableError.show("");
        announce(`Key ${revoked.name} revoked.`);
        await load();
      }, showError)));
    clear(listPanel).append(tableError.el,
      table("API keys", ["ID", "Name", "User", "Starts with", "Created", "Status", ""], rows,
        "No API keys yet."));
    clear(side).append(keyForm(users, async (key) => {
      clear(shown).append(newKeyBox(key, () => clear(shown)));
      shown.firstChild.focus();
      announce(`API key ${key.name} created. Copy it now: it will not be shown again.`);
      await load();
    }));
  }
  clear(root).append(pageHead("API keys", count), shown,
    h("div", { class: "admin-layout" }, listPanel, side));
  await load();
  return null;
}
