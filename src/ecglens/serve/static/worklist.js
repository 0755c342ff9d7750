// The worklist: filters, upload, and a table that refreshes itself while ECGs are in the queue.
import { api } from "./api.js";
import { announce, clear, h, uid } from "./dom.js";
import {
  formatDateTime, listItems, percent, qualityBadge, roleCanRead, statusBadge,
} from "./format.js";

const REFRESH_MS = 2000; // while something is in the queue
const IDLE_REFRESH_MS = 30000; // otherwise, to pick up ECGs sent by carts and other users
const PAGE_SIZE = 100;
let offset = 0;
const filters = { unread: false, abnormal: false, quality_problem: false, since: "", until: "" };

function checkbox(name, label, onChange) {
  const id = uid(name);
  const input = h("input", { id, type: "checkbox", checked: filters[name],
    onchange: () => { filters[name] = input.checked; onChange(); } });
  return h("div", { class: "check" }, input, h("label", { for: id, text: label }));
}

function dateInput(name, label, onChange) {
  const id = uid(name);
  const input = h("input", { id, type: "date", value: filters[name],
    onchange: () => { filters[name] = input.value; onChange(); } });
  return h("div", { class: "field-inline" }, h("label", { for: id, text: label }), input);
}

function findingsCell(item) {
  const top = item.top_findings || [];
  if (item.abstained) return h("span", { class: "badge abstained", text: "No interpretation" });
  if (!top.length) return h("span", { class: "muted", text: "—" });
  // as the report prints them: the headline statements (the rhythm first), then the possible
  // ones, so a 3% "possible" never heads the line
  return h("ul", { class: "top-findings" }, top.slice(0, 3).map((f) =>
    h("li", { class: f.confident ? "confident" : "possible",
      title: f.confident ? "confident" : "possible" },
    h("span", { class: "finding-label", text: f.label || f.code }),
    h("span", { class: "prob", text: f.probability == null ? "measured" : percent(f.probability) }))));
}

function row(item, canRead, showQuality) {
  const name = item.filename || `ECG ${item.id}`;
  const open = canRead && item.status === "done"
    ? h("a", { href: `#/ecg/${item.id}`, class: "row-link", text: name })
    : h("span", { text: name });
  const cells = [
    h("td", { class: "num" }, String(item.id),
      item.abnormal ? h("span", { class: "sr-only", text: " abnormal" }) : null),
    h("td", { class: "nowrap", text: formatDateTime(item.uploaded_at) }),
    h("td", { class: "file" }, open,
      item.format ? h("div", { class: "muted small", text: item.format }) : null,
      item.status === "failed" && item.error
        ? h("div", { class: "row-error", text: item.error }) : null),
    h("td", {}, statusBadge(item.status)),
  ];
  // technicians get no result fields from the API, so no rate or findings columns; quality
  // shows for them only if the API sends it (a technician can then re-record at once)
  if (showQuality) cells.push(h("td", {}, qualityBadge(item.quality)));
  if (canRead) {
    cells.push(
      h("td", { class: "num", text: item.heart_rate_bpm == null ? "—"
        : Math.round(item.heart_rate_bpm) }),
      h("td", {}, findingsCell(item)),
      h("td", {}, item.signed ? h("span", { class: "badge signed", text: "Signed" })
        : item.read ? h("span", { class: "badge read", text: "Read" })
          : h("span", { class: "badge unread", text: "Unread" })),
    );
  }
  const tr = h("tr", { "data-id": item.id, "data-status": item.status,
    title: item.abnormal ? "Abnormal ECG" : null,
    class: [item.abnormal ? "abnormal" : "", item.read ? "" : "is-unread"].join(" ").trim() },
  cells);
  if (canRead && item.status === "done") {
    // the whole row opens the ECG; the link inside keeps keyboard and middle-click behaviour
    tr.classList.add("clickable");
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      location.hash = `#/ecg/${item.id}`;
    });
  }
  return tr;
}

/**
 * One upload per ECG: a WFDB header (.hea) travels with the files that share its name
 * (.dat/.mat signal, annotations); every other file is an ECG on its own.
 */
export function groupRecords(files) {
  const stem = (f) => f.name.replace(/\.[^.]*$/, "");
  const headers = new Map(files.filter((f) => /\.hea$/i.test(f.name)).map((f) => [stem(f), [f]]));
  const groups = [];
  for (const f of files) {
    if (/\.hea$/i.test(f.name)) continue;
    if (headers.has(stem(f))) headers.get(stem(f)).push(f);
    else groups.push([f]);
  }
  return [...headers.values(), ...groups];
}

function uploadPanel(onUploaded) {
  const id = uid("file");
  const input = h("input", { id, type: "file", name: "file", multiple: true, class: "file-input" });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Upload" });
  const hint = h("p", { id: uid("hint"), class: "upload-result",
    text: "XML, SCP-ECG, DICOM, EDF…; WFDB: the .hea with its .dat or .mat" });
  const result = h("p", { class: "upload-result upload-status", role: "status" });
  input.setAttribute("aria-describedby", hint.id);
  const form = h("form", { class: "upload", "aria-label": "Upload ECG files" },
    h("label", { for: id, class: "upload-label" }, "ECG files",
      h("span", { class: "muted", text: " — choose, or drop them here" })),
    h("div", { class: "upload-row" }, input, button), hint, result);
  async function send(files) {
    if (!files.length) {
      result.textContent = "Choose one or more files first.";
      return;
    }
    button.disabled = true;
    const lines = [];
    for (const group of groupRecords(files)) {
      const name = group.map((f) => f.name).join(" + ");
      result.textContent = `Uploading ${name}…`;
      try {
        const item = await api.upload(group);
        const what = item && item.duplicate ? "already uploaded" : "received, queued";
        lines.push(`${name}: ${what}` + (item && item.id ? ` (ECG ${item.id})` : ""));
      } catch (e) {
        lines.push(`${name}: not accepted — ${e.message}`);
      }
    }
    result.textContent = lines.join(" · ");
    hint.hidden = true;
    announce(lines.join(". "));
    input.value = "";
    button.disabled = false;
    onUploaded();
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send([...input.files]);
  });
  // files dropped anywhere on the upload panel are sent at once
  form.addEventListener("dragover", (event) => {
    event.preventDefault();
    form.classList.add("dragging");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dragging"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("dragging");
    send([...event.dataTransfer.files]);
  });
  return form;
}

export async function renderWorklist(root, user) {
  const canRead = roleCanRead(user.role);
  let timer = null;
  let alive = true;
  const tbody = h("tbody");
  const count = h("p", { class: "muted count", role: "status" });
  const thead = h("thead");
  let headers = [];
  const setHeaders = (showQuality) => {
    headers = ["ID", "Uploaded", "File", "Status"];
    if (showQuality) headers.push("Quality");
    if (canRead) headers.push("HR", "Top findings", "Read");
    clear(thead).append(h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t }))));
  };
  const table = h("table", { class: "worklist", "aria-describedby": "worklist-title" },
    thead, tbody);

  async function load() {
    if (!alive) return;
    clearTimeout(timer);
    const query = { limit: PAGE_SIZE, offset };
    if (filters.unread) query.unread = true;
    if (filters.abnormal) query.abnormal = true;
    if (filters.quality_problem) query.quality_problem = true;
    // the dates are the user's local days; the API compares instants (until is exclusive)
    if (filters.since) query.since = new Date(`${filters.since}T00:00`).toISOString();
    if (filters.until) {
      const end = new Date(`${filters.until}T00:00`);
      end.setDate(end.getDate() + 1);
      query.until = end.toISOString();
    }
    let items;
    let total;
    try {
      const body = await api.listEcgs(query);
      items = listItems(body);
      total = body && Number.isInteger(body.total) ? body.total : items.length;
    } catch (e) {
      if (e.status !== 401) count.textContent = `Could not load the worklist: ${e.message}`;
      return;
    }
    if (!alive) return;
    const showQuality = canRead || items.some((i) => i.quality);
    setHeaders(showQuality);
    clear(tbody);
    if (!items.length) {
      tbody.append(h("tr", {}, h("td", { colspan: headers.length, class: "empty",
        text: "No ECGs match these filters." })));
    }
    for (const item of items) tbody.append(row(item, canRead, showQuality));
    const pending = items.filter((i) => i.status === "queued" || i.status === "processing").length;
    const range = total > items.length && items.length
      ? `${offset + 1}–${offset + items.length} of ${total} ECGs`
      : `${total} ECG${total === 1 ? "" : "s"}`;
    count.textContent = range + (pending ? ` · ${pending} in the queue, refreshing…` : "");
    prev.disabled = offset === 0;
    next.disabled = offset + items.length >= total;
    pager.hidden = prev.disabled && next.disabled;
    timer = setTimeout(load, pending ? REFRESH_MS : IDLE_REFRESH_MS);
  }

  const prev = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "← Newer",
    onclick: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); } });
  const next = h("button", { type: "button", class: "btn btn-quiet btn-small", text: "Older →",
    onclick: () => { offset += PAGE_SIZE; load(); } });
  const pager = h("nav", { class: "pager", "aria-label": "Worklist pages", hidden: true }, prev, next);
  // a changed filter starts again at the newest ECGs
  const refilter = () => { offset = 0; load(); };
  const filterBar = canRead ? h("div", { class: "filters", role: "group", "aria-label": "Filters" },
    checkbox("unread", "Unread", refilter),
    checkbox("abnormal", "Abnormal", refilter),
    checkbox("quality_problem", "Quality problem", refilter),
    dateInput("since", "From", refilter),
    dateInput("until", "To", refilter)) : null;

  clear(root).append(
    h("div", { class: "page-head" },
      h("h1", { id: "worklist-title", text: "Worklist" }), count),
    h("section", { class: "panel toolbar-panel" }, uploadPanel(refilter), filterBar),
    h("section", { class: "panel table-panel" }, table), pager);
  await load();
  const onVisible = () => { if (!document.hidden) load(); };
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    alive = false;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
