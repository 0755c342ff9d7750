// One ECG: warnings first, the tracing, measurements, findings with their explanations,
// the overread form and the report downloads.
import { api, downloadUrl } from "./api.js";
import { append, clear, h, uid } from "./dom.js";
import { EcgCanvas, LAYOUTS } from "./ecgcanvas.js";
import { formatDateTime, statusBadge } from "./format.js";
import { findingsPanel } from "./findings.js";
import { alerts, measurementSpecs, measurementTable, qualityLine } from "./measurements.js";
import { renderOverreads } from "./overread.js";
import { attachCaliper } from "./caliper.js";
import { medianBeatPanel } from "./medianbeat.js";

function select(label, options, value, onChange) {
  const id = uid("sel");
  const sel = h("select", { id, onchange: () => onChange(sel.value) },
    options.map(([v, text]) => h("option", { value: v, text, selected: String(v) === String(value) })));
  return h("div", { class: "control" }, h("label", { for: id, text: label }), sel);
}

function ecgPanel(signal, result) {
  const canvas = h("canvas", { class: "ecg-canvas", role: "img" });
  const stack = h("div", { class: "ecg-stack" }, canvas);
  const scroller = h("div", { class: "ecg-scroll", tabindex: "0",
    "aria-label": "ECG tracing; scroll with the arrow keys when zoomed" }, stack);
  const caliperText = h("span", { class: "caliper-text" });
  let caliper = null;
  const readout = h("span", { class: "readout muted", "aria-hidden": "true" });
  const caption = h("span", { class: "caption" });
  const view = new EcgCanvas(canvas, signal);
  view.setLeadQuality((result.quality || {}).leads);
  const o = view.options;
  function redraw() {
    view.setFitWidth(scroller.clientWidth - 2);
    const geom = view.draw();
    if (caliper) caliper.reset();
    const filter = o.filter ? `display high-pass ${o.filter} Hz (zero-phase)` : "no display filter";
    caption.textContent = `${o.speed} mm/s · ${o.gain} mm/mV · ${LAYOUTS[o.layout].label} · ` +
      `${geom.windowS.toFixed(1)} s shown · ${filter}`;
    canvas.setAttribute("aria-label", `12-lead ECG, ${LAYOUTS[o.layout].label}, ${o.speed} mm/s, ` +
      `${o.gain} mm/mV. Measurements and findings are listed as text below.`);
  }
  // a record without most of the standard leads reads better one lead per row
  const standard = Object.values(LAYOUTS)[0].columns.flat();
  if (signal.leads.filter((l) => standard.includes(l)).length < 6) o.layout = "12x1";
  const layoutSelect = select("Layout", Object.entries(LAYOUTS).map(([k, v]) => [k, v.label]),
    o.layout, (v) => { o.layout = v; redraw(); });
  const setLayout = (v) => {
    o.layout = v;
    layoutSelect.querySelector("select").value = v;
    redraw();
  };
  const controls = [
    layoutSelect,
    select("Speed", [[25, "25 mm/s"], [50, "50 mm/s"]], o.speed,
      (v) => { o.speed = Number(v); redraw(); }),
    select("Gain", [[5, "5 mm/mV"], [10, "10 mm/mV"], [20, "20 mm/mV"]], o.gain,
      (v) => { o.gain = Number(v); redraw(); }),
    select("Zoom", [[1, "Fit"], [1.5, "150%"], [2, "200%"], [3, "300%"]], o.zoom,
      (v) => { o.zoom = Number(v); redraw(); }),
    select("Filter", [[0.5, "0.5 Hz"], [0.05, "0.05 Hz"], [0, "Off"]], o.filter,
      (v) => { o.filter = Number(v); redraw(); }),
  ];
  if (view.duration > 10.05) {
    // a longer record is read page by page (10 s), or scrubbed with the slider
    const id = uid("start");
    const max = Math.floor((view.duration - 10) * 10) / 10;
    const out = h("output", { for: id, text: "0.0 s" });
    const range = h("input", { id, type: "range", min: 0, max, step: 0.5, value: 0, class: "start-range" });
    const go = (t) => {
      o.start = Math.min(max, Math.max(0, t));
      range.value = String(o.start);
      out.textContent = `${o.start.toFixed(1)} of ${view.duration.toFixed(0)} s`;
      view.setOptions({});
      redraw();
    };
    range.addEventListener("input", () => go(Number(range.value)));
    const step = (d) => h("button", { type: "button", class: "btn btn-small btn-quiet",
      "aria-label": d < 0 ? "Previous 10 seconds" : "Next 10 seconds", text: d < 0 ? "◀ 10 s" : "10 s ▶",
      onclick: () => go(o.start + d) });
    controls.push(h("div", { class: "control" }, h("label", { for: id, text: "Start" }),
      step(-10), range, step(10), out));
    go(0);
  }
  caliper = attachCaliper(stack, view, (text) => { caliperText.textContent = text; });
  caliper.layer.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const hit = view.locate(event.clientX - rect.left, event.clientY - rect.top);
    readout.textContent = hit ? `${hit.lead} · ${hit.t.toFixed(2)} s · ${hit.mv.toFixed(2)} mV` : "";
  });
  caliper.layer.addEventListener("mouseleave", () => { readout.textContent = ""; });
  const panel = h("section", { class: "panel ecg-panel", "aria-label": "ECG tracing" },
    h("div", { class: "ecg-toolbar", role: "group", "aria-label": "Display settings" }, controls),
    scroller,
    h("div", { class: "ecg-foot" }, caption, caliperText, readout));
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(redraw);
  });
  return { panel, view, redraw, setLayout, layout: () => o.layout,
    start: () => observer.observe(scroller), stop: () => observer.disconnect() };
}

/** Stands in for the tracing when the signal cannot be shown; the rest of the page still works. */
function signalError(message) {
  const noop = () => {};
  return {
    panel: h("section", { class: "panel ecg-panel" },
      h("p", { class: "alert alert-warning", text: `The tracing cannot be shown: ${message}` })),
    view: { setOverlay: noop }, redraw: noop, setLayout: noop, layout: () => "12x1",
    start: noop, stop: noop,
  };
}

function contextPanel(result) {
  const r = result.record || {};
  const p = result.patient || {};
  const rows = [
    ["Age / sex", [p.age_years != null ? `${Math.round(p.age_years)} y` : "age unknown", p.sex || "sex unknown"].join(" · ")],
    ["Recording", `${r.duration_s != null ? r.duration_s.toFixed(1) : "?"} s · ${r.sampling_rate_hz} Hz · ${(r.leads || []).length} lead${(r.leads || []).length === 1 ? "" : "s"}`],
    ["Device", r.device || "—"],
  ];
  if (result.ecg_age) {
    rows.push(["ECG age", `${Math.round(result.ecg_age.predicted_years)} y` +
      (result.ecg_age.difference_years != null
        ? ` (${result.ecg_age.difference_years > 0 ? "+" : ""}${Math.round(result.ecg_age.difference_years)} y)` : "")]);
  }
  const model = (result.models || [])[0];
  if (model) rows.push(["Model", `${model.name} ${model.version}`]);
  return h("section", { class: "panel context-panel", "aria-labelledby": "context-title" },
    h("h2", { id: "context-title", text: "Record" }),
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
    (r.device_statements || []).length ? [h("h3", { class: "small-title", text: "Device's own statements" }),
      h("ul", { class: "plain" }, r.device_statements.map((s) => h("li", { text: s })))] : null,
    (result.notes || []).length ? h("p", { class: "muted small", text: `Processing: ${result.notes.join("; ")}.` }) : null);
}

function downloads(id) {
  const link = (kind, text) => h("a", { class: "btn btn-quiet", href: downloadUrl(id, kind),
    download: "", "data-kind": kind, text });
  return h("div", { class: "downloads", role: "group", "aria-label": "Downloads" },
    link("pdf", "PDF report"), link("png", "PNG"), link("fhir", "FHIR"), link("original", "Original"));
}

export async function renderEcg(root, id, user) {
  clear(root).append(h("p", { class: "loading", text: "Loading ECG…" }));
  const ecg = await api.getEcg(id);
  const title = h("h1", {}, `ECG ${ecg.id}`, h("span", { class: "filename", text: ecg.filename || "" }));
  const head = h("div", { class: "page-head ecg-head" },
    h("div", {}, h("a", { href: "#/", class: "back", text: "← Worklist" }), title,
      h("p", { class: "muted meta" }, `Uploaded ${formatDateTime(ecg.uploaded_at)}`,
        ecg.uploaded_by ? ` by ${ecg.uploaded_by}` : "", ecg.format ? ` · ${ecg.format}` : "", " ",
        statusBadge(ecg.status), h("span", { class: "badge signed", text: "Signed", hidden: !ecg.signed }))),
    ecg.status === "done" ? downloads(ecg.id) : null);
  if (ecg.status !== "done" || !ecg.result) {
    const pending = ecg.status === "queued" || ecg.status === "processing";
    clear(root).append(head, h("section", { class: "panel" },
      h("p", { text: pending ? "This ECG is still being processed; the page updates when it is done."
        : `Processing failed: ${ecg.error || "unknown reason"}` })));
    // look again shortly: the router re-renders this page (and cancels the timer on leaving)
    const timer = pending ? setTimeout(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 2000) : 0;
    return () => clearTimeout(timer);
  }
  const result = ecg.result;
  let signal;
  try {
    signal = await api.signal(id);
  } catch (e) {
    if (e.status === 401) throw e;
    signal = { fs: 1, leads: [], data: [], error: e.message };
  }
  const trace = signal.error ? signalError(signal.error) : ecgPanel(signal, result);
  // the finding being explained, averaged over one beat per lead: under the tracing, in its columns
  const beatSlot = h("div", { class: "beat-slot" });
  trace.showBeat = (finding) => {
    clear(beatSlot);
    const panel = finding && medianBeatPanel(finding.explanation, finding);
    if (panel) beatSlot.append(panel);
  };
  const overreadPanel = h("section", { class: "panel overread-panel", "aria-labelledby": "overread-title" });
  const alertList = alerts(result);
  const specs = await measurementSpecs();
  append(clear(root), [
    head,
    alertList.length ? h("section", { class: "alerts", "aria-label": "Warnings" }, alertList) : null,
    h("div", { class: "ecg-layout" },
      h("div", { class: "ecg-main" }, trace.panel, beatSlot,
        h("div", { class: "below" },
          h("section", { class: "panel", "aria-labelledby": "meas-title" },
            h("h2", { id: "meas-title", text: "Measurements" }), qualityLine(result),
            measurementTable(result.measurements || {}, specs)),
          overreadPanel)),
      h("aside", { class: "ecg-side" }, findingsPanel(result, trace), contextPanel(result)))]);
  overreadPanel.addEventListener("ecglens:signed", () => {
    head.querySelector(".badge.signed").hidden = false;
  });
  trace.start();
  title.setAttribute("tabindex", "-1");
  title.focus({ preventScroll: true }); // screen readers start at the new page's title
  await renderOverreads(overreadPanel, ecg, result, user);
  return () => trace.stop();
}
