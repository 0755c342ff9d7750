// Formatting shared by the worklist and the ECG view.
import { h } from "./dom.js";

export function formatDateTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function percent(p) {
  return p === null || p === undefined ? "—" : `${Math.round(p * 100)}%`;
}

const STATUS_TEXT = {
  queued: "Queued", processing: "Processing", done: "Ready", failed: "Failed",
};
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, text: STATUS_TEXT[status] || status });
}

const QUALITY_TEXT = {
  acceptable: "Acceptable", limited: "Limited", unacceptable: "Unacceptable",
};
export function qualityBadge(quality) {
  if (!quality) return h("span", { class: "muted", text: "—" });
  return h("span", { class: `badge quality-${quality}`, text: QUALITY_TEXT[quality] || quality });
}

/** Items of GET /ecgs: accept a bare list or a {items: [...]} page. */
export function listItems(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  return [];
}

export function roleCanRead(role) {
  return role === "clinician" || role === "admin";
}
