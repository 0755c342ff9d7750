// The audit log (role admin): newest first, filtered by actor, action or ECG, paged backwards
// in time with before_id. Reading it is itself an audited act ("audit.read").
import { api } from "./api.js";
import { clear, h, uid } from "./dom.js";

const PAGE_SIZE = 50;
// the actions the service records; the field still takes any text
const ACTIONS = [
  "auth.login", "auth.login_failed", "auth.login_locked", "auth.logout",
  "ecg.upload", "ecg.upload_duplicate", "ecg.list", "ecg.status", "ecg.read", "ecg.signal",
  "ecg.report_pdf", "ecg.report_png", "ecg.fhir", "ecg.original",
  "overread.draft", "overread.sign", "overread.list",
  "user.list", "user.create", "key.list", "key.create", "key.revoke", "audit.read",
];
const filters = { actor: "", action: "", ecg_id: "" };

/** Date and time to the second, in the reader's time zone: an audit trail needs the seconds. */
function stamp(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function actionClass(action) {
  if (/login_failed|login_locked|revoke/.test(action)) return "act-alert";
  if (/create|sign|upload$/.test(action)) return "act-change";
  return "";
}

function filterForm(onApply) {
  const input = (name, props) => {
    const el = h("input", { id: uid(name), name, value: filters[name], autocomplete: "off", ...props });
    return el;
  };
  const actor = input("actor", { spellcheck: "false", placeholder: "user name" });
  const listId = uid("actions");
  const action = input("action", { list: listId, spellcheck: "false", placeholder: "e.g. key.revoke" });
  const ecg = input("ecg_id", { inputmode: "numeric", pattern: "[0-9]*", placeholder: "ECG id", class: "short" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const form = h("form", { class: "filters audit-filters", role: "search", "aria-label": "Filter the audit log",
    novalidate: true },
    h("div", { class: "field-inline" }, h("label", { for: actor.id, text: "Actor" }), actor),
    h("div", { class: "field-inline" }, h("label", { for: action.id, text: "Action" }), action,
      h("datalist", { id: listId }, ACTIONS.map((a) => h("option", { value: a })))),
    h("div", { class: "field-inline" }, h("label", { for: ecg.id, text: "ECG id" }), ecg),
    h("button", { type: "submit", class: "btn btn-primary btn-small", text: "Filter" }),
    h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Clear", onclick: () => {
      actor.value = ""; action.value = ""; ecg.value = "";
      form.requestSubmit();
    } }),
    error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = ecg.value.trim();
    if (id && !/^[1-9][0-9]*$/.test(id)) {
      error.textContent = "An ECG id is a whole number, as in the worklist's ID column.";
      error.hidden = false;
      return;
    }
    error.hidden = true;
    filters.actor = actor.value.trim();
    filters.action = action.value.trim();
    filters.ecg_id = id;
    onApply();
  });
  return form;
}

function eventRow(e) {
  return h("tr", { "data-audit-id": e.id, "data-action": e.action },
    h("td", { class: "num muted", text: e.id }),
    h("td", { class: "nowrap", text: stamp(e.at) }),
    h("td", {}, h("span", { class: "strong", text: e.actor }),
      e.role ? h("span", { class: "muted small", text: ` ${e.role}` }) : null),
    h("td", {}, h("code", { class: `action ${actionClass(e.action)}`, text: e.action })),
    h("td", { class: "num" }, e.ecg_id
      ? h("a", { href: `#/ecg/${e.ecg_id}`, "aria-label": `ECG ${e.ecg_id}`, text: e.ecg_id }) : "—"),
    h("td", { class: "detail", text: e.detail || "" }),
    h("td", { class: "muted small", text: e.client || "" }));
}

export async function renderAudit(root) {
  const count = h("p", { class: "muted count", role: "status" });
  const tbody = h("tbody");
  const message = h("p", { class: "form-error pad", role: "alert", hidden: true });
  // before_id of each page shown so far: the first page has none
  let pages = [null];
  const newer = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "← Newer",
    onclick: () => { pages.pop(); load(); } });
  const older = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Older →",
    onclick: () => {
      const last = tbody.lastElementChild && tbody.lastElementChild.dataset.auditId;
      if (last) { pages.push(Number(last)); load(); }
    } });
  const newest = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Newest",
    onclick: () => { pages = [null]; load(); } });

  async function load() {
    const before = pages[pages.length - 1];
    const query = { limit: PAGE_SIZE, before_id: before, actor: filters.actor,
      action: filters.action, ecg_id: filters.ecg_id };
    let events;
    try {
      events = await api.audit(query);
    } catch (e) {
      if (e.status === 401) throw e;
      message.textContent = `Could not load the audit log: ${e.message}`;
      message.hidden = false;
      return;
    }
    message.hidden = true;
    clear(tbody);
    if (!events.length) {
      tbody.append(h("tr", {}, h("td", { colspan: 7, class: "empty",
        text: before ? "No older events." : "No events match these filters." })));
    }
    for (const e of events) tbody.append(eventRow(e));
    const which = [filters.actor && `actor ${filters.actor}`, filters.action && `action ${filters.action}`,
      filters.ecg_id && `ECG ${filters.ecg_id}`].filter(Boolean).join(", ");
    if (events.length) {
      const span = events.length === 1 ? `#${events[0].id}`
        : `#${events[0].id} to #${events[events.length - 1].id}`;
      count.textContent = `${events.length} event${events.length === 1 ? "" : "s"}, ${span}` +
        (which ? ` · ${which}` : "");
    } else {
      count.textContent = which;
    }
    newer.disabled = pages.length < 2;
    newest.disabled = pages.length < 2;
    older.disabled = events.length < PAGE_SIZE;
  }

  const table = h("table", { class: "worklist audit-table" },
    h("caption", { class: "sr-only", text: "Audit events, newest first" }),
    h("thead", {}, h("tr", {}, ["#", "When", "Actor", "Action", "ECG", "Detail", "Client"]
      .map((t) => h("th", { scope: "col", text: t })))),
    tbody);
  clear(root).append(
    h("div", { class: "page-head" }, h("h1", { text: "Audit log" }), count),
    h("section", { class: "panel toolbar-panel" },
      filterForm(() => { pages = [null]; load(); }),
      h("p", { class: "muted small audit-note",
        text: "Append-only: the database refuses changes to it. Reading it is recorded too." })),
    h("section", { class: "panel table-panel" }, message, table),
    h("nav", { class: "pager", "aria-label": "Audit log pages" }, newest, newer, older));
  await load();
  return null;
}
