// One ECG: warnings first, the tracing, measurements, findings with their explanations,
// the overread form and the report downloads.
import { api, downloadUrl } from "./api.js";
import { append, clear, h, uid } from "./dom.js";
import { EcgCanvas, LAYOUTS } from "./ecgcanvas.js";
import { formatDateTime, percent, qualityBadge, statusBadge } from "./format.js";
import { renderOverreads } from "./overread.js";
import { attachCaliper } from "./caliper.js";

// [field, label, unit, low, high]: the limits only flag a value for attention
const MEASUREMENTS = [
  ["heart_rate_bpm", "Heart rate", "bpm", 50, 100],
  ["rr_ms", "RR interval", "ms", 600, 1200],
  ["p_duration_ms", "P duration", "ms", null, 120],
  ["pr_ms", "PR interval", "ms", 120, 200],
  ["qrs_ms", "QRS duration", "ms", null, 120],
  ["qt_ms", "QT interval", "ms", null, null],
  ["qtc_bazett_ms", "QTc Bazett", "ms", null, 460],
  ["qtc_fridericia_ms", "QTc Fridericia", "ms", null, 460],
  ["qtc_framingham_ms", "QTc Framingham", "ms", null, 460],
  ["qtc_hodges_ms", "QTc Hodges", "ms", null, 460],
  ["p_axis_deg", "P axis", "°", 0, 75],
  ["qrs_axis_deg", "QRS axis", "°", -30, 90],
  ["t_axis_deg", "T axis", "°", null, null],
];

function rangeText(low, high, unit) {
  if (low == null && high == null) return "";
  if (low == null) return `< ${high} ${unit}`.replace(" °", "°");
  if (high == null) return `> ${low} ${unit}`;
  return `${low} to ${high}${unit === "°" ? "°" : ` ${unit}`}`;
}

function measurementTable(m) {
  const reasons = m.not_measured || {};
  const rows = MEASUREMENTS.map(([key, label, unit, low, high]) => {
    const v = m[key];
    let value;
    let flag = "";
    if (v === null || v === undefined) {
      value = h("span", { class: "not-measured" }, "—",
        h("span", { class: "reason", text: reasons[key] ? ` ${reasons[key]}` : " not measured" }));
    } else {
      if (low != null && v < low) flag = "low";
      else if (high != null && v > high) flag = "high";
      value = h("span", { text: `${Math.round(v)}${unit === "°" ? "°" : ` ${unit}`}` });
    }
    return h("tr", { class: flag ? `out-of-range out-${flag}` : "" },
      h("th", { scope: "row", text: label }),
      h("td", { class: "num" }, value, flag ? h("span", { class: "sr-only", text: ` (${flag}er than usual)` }) : null),
      h("td", { class: "muted range", text: rangeText(low, high, unit) }));
  });
  return h("table", { class: "measurements" },
    h("caption", { class: "sr-only", text: "Measurements" }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Measurement" }),
      h("th", { scope: "col", class: "num", text: "Value" }),
      h("th", { scope: "col", text: "Adult range" }))),
    h("tbody", {}, rows));
}

function alerts(result) {
  const items = [];
  const add = (level, title, lines) => items.push(h("div", { class: `alert alert-${level}`, role: level === "danger" ? "alert" : null },
    h("strong", { text: title }),
    lines && lines.length ? h("ul", {}, lines.map((l) => h("li", { text: l }))) : null));
  const ab = result.abstention || {};
  if (ab.abstained) add("danger", "No interpretation: read this ECG yourself", ab.reasons);
  const q = result.quality || {};
  if (q.verdict && q.verdict !== "acceptable") {
    // one line per problem with the leads that have it, not one line per lead
    const byProblem = new Map();
    for (const l of q.leads || []) {
      if (l.verdict === "acceptable") continue;
      const key = `${l.verdict}: ${(l.problems || []).join(", ") || "no detail"}`;
      if (!byProblem.has(key)) byProblem.set(key, []);
      byProblem.get(key).push(l.lead);
    }
    const perLead = [...byProblem].map(([problem, leads]) =>
      `${problem} — ${leads.length === (q.leads || []).length ? "all leads" : leads.join(", ")}`);
    // the reasons often restate the per-lead list; keep those that add something
    const reasons = (q.reasons || []).filter((r) => !/^leads with (limited|unacceptable) quality/.test(r));
    add(q.verdict === "unacceptable" ? "danger" : "warning",
      `Signal quality ${q.verdict}`, [...reasons, ...perLead]);
  }
  const lr = result.lead_reversal || {};
  if (lr.suspected) {
    add("danger", `Lead reversal suspected: ${lr.suspected}`,
      [`score ${percent(lr.confidence)}; check the electrode placement and repeat the recording`]);
  }
  if (ab.caution && ab.caution.length) add("warning", "Caution: no finding is marked confident", ab.caution);
  const flags = result.consistency || [];
  if (flags.length) {
    add("warning", "Findings that disagree with the measurements",
      flags.map((f) => f.message || `${f.finding}: needs ${f.check}, measured ${f.observed}`));
  }
  return items;
}

function qualityLine(result) {
  const q = result.quality || {};
  return h("p", { class: "quality-line" }, "Signal quality ", qualityBadge(q.verdict),
    q.verdict === "acceptable" ? h("span", { class: "muted", text: " in all leads" }) : null);
}

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

/** The time span (s) holding the positive evidence, or null when there is none. */
function evidenceSpan(map) {
  let first = Infinity;
  let last = -Infinity;
  map.values.forEach((row) => row.forEach((v, k) => {
    if (v > 0.05) {
      first = Math.min(first, k);
      last = Math.max(last, k + 1);
    }
  }));
  if (!Number.isFinite(first)) return null;
  return [map.start_s + first / map.fs, map.start_s + last / map.fs];
}

function evidenceNote(f, ecg) {
  const raw = f.explanation && f.explanation.raw;
  const span = raw && evidenceSpan(raw);
  if (!span) return null;
  const total = raw.values[0].length / raw.fs;
  const text = `Evidence lies in ${span[0].toFixed(1)}–${span[1].toFixed(1)} s of the record.`;
  if (span[1] - span[0] > 0.8 * total) return null;
  const button = h("button", { type: "button", class: "btn btn-small btn-quiet",
    text: "Show all leads over that time (12×1)" });
  button.addEventListener("click", () => { ecg.setLayout("12x1"); button.remove(); });
  return h("p", { class: "evidence-note small" }, text, " ",
    ecg.layout() === "12x1" ? null : button);
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

function explanationDetails(f, ecg) {
  const e = f.explanation;
  if (!e) return null;
  const top = (e.leads || []).slice(0, 6);
  const max = Math.max(...top.map((l) => l.share), 0.01);
  const segments = Object.entries(e.segments || {}).sort((a, b) => b[1] - a[1]);
  return h("div", { class: "explanation" },
    h("p", { class: "summary" }, h("span", { class: "muted", text: "Network evidence: " }), e.summary),
    evidenceNote(f, ecg),
    h("div", { class: "shares" },
      h("div", {}, h("h4", { text: "Leads" }),
        h("ul", { class: "bars" }, top.map((l) => h("li", {},
          h("span", { class: "bar-label", text: l.lead }),
          h("span", { class: "bar" }, barFill(l.share / max)),
          h("span", { class: "bar-value", text: percent(l.share) }))))),
      h("div", {}, h("h4", { text: "Part of the beat" }),
        h("ul", { class: "bars" }, segments.slice(0, 6).map(([name, share]) => h("li", {},
          h("span", { class: "bar-label", text: name }),
          h("span", { class: "bar" }, barFill(share / Math.max(segments[0][1], 0.01))),
          h("span", { class: "bar-value", text: percent(share) })))))),
    h("p", { class: "muted small", text: `Method: ${e.method.replaceAll("_", " ")}. Shading on the tracing marks where the network's evidence for this finding is high.` }));
}

function barFill(fraction) {
  const fill = h("span", { class: "bar-fill" });
  fill.style.width = `${Math.round(Math.max(0.02, Math.min(1, fraction)) * 100)}%`;
  return fill;
}

function findingsPanel(result, ecg) {
  const findings = result.findings || [];
  const groups = [
    ["Confident", findings.filter((f) => f.confident)],
    // possible findings by probability: the order a reader scans them in
    ["Possible", findings.filter((f) => !f.confident).sort((a, b) => b.probability - a.probability)],
  ];
  let active = null;
  const panel = h("section", { class: "panel findings-panel", "aria-labelledby": "findings-title" },
    h("h2", { id: "findings-title", text: "Findings" }));
  if (!findings.length) {
    panel.append(h("p", { class: "muted", text: result.abstention && result.abstention.abstained
      ? "None: the service abstained." : "No finding above its threshold." }));
  }
  for (const [name, list] of groups) {
    if (!list.length) continue;
    panel.append(h("h3", { class: `group-title group-${name.toLowerCase()}`, text: name }));
    const ul = h("ul", { class: "findings" });
    for (const f of list) {
      const details = h("div", { class: "finding-details", hidden: true });
      const toggle = f.explanation && f.explanation.raw
        ? h("button", { type: "button", class: "btn btn-small explain-toggle", "aria-pressed": "false",
          "aria-label": `Show evidence for ${f.label}`, "data-code": f.code, text: "Show evidence" })
        : null;
      const li = h("li", { class: `finding ${f.confident ? "confident" : "possible"}`, "data-code": f.code },
        h("div", { class: "finding-head" },
          h("span", { class: "finding-label", text: f.label }),
          h("span", { class: "prob", text: percent(f.probability) })),
        h("div", { class: "prob-track", "aria-hidden": "true" }, barFill(f.probability)),
        h("div", { class: "finding-meta" },
          h("span", { class: "code", text: f.code }),
          h("span", { class: "chip", text: f.category }),
          h("span", { class: "muted", text: `threshold ${percent(f.threshold)}` }),
          toggle),
        (f.consistency || []).length
          ? h("ul", { class: "consistency" }, f.consistency.map((c) => h("li", { text: c }))) : null,
        details);
      if (toggle) {
        toggle.addEventListener("click", () => {
          const on = active !== f;
          for (const b of panel.querySelectorAll(".explain-toggle")) {
            b.setAttribute("aria-pressed", "false");
            b.textContent = "Show evidence";
          }
          for (const d of panel.querySelectorAll(".finding-details")) d.hidden = true;
          for (const l of panel.querySelectorAll(".finding")) l.classList.remove("explaining");
          active = on ? f : null;
          if (on) {
            toggle.setAttribute("aria-pressed", "true");
            toggle.textContent = "Hide evidence";
            // built on opening: the note depends on the layout in use
            clear(details).append(explanationDetails(f, ecg));
            details.hidden = false;
            li.classList.add("explaining");
          }
          ecg.view.setOverlay(on ? f.explanation.raw : null,
            on ? (f.explanation.leads || []).filter((l) => l.share >= 0.1).map((l) => l.lead) : []);
          ecg.redraw();
        });
      }
      ul.append(li);
    }
    panel.append(ul);
  }
  return panel;
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
  const overreadPanel = h("section", { class: "panel overread-panel", "aria-labelledby": "overread-title" });
  const alertList = alerts(result);
  append(clear(root), [
    head,
    alertList.length ? h("section", { class: "alerts", "aria-label": "Warnings" }, alertList) : null,
    h("div", { class: "ecg-layout" },
      h("div", { class: "ecg-main" }, trace.panel,
        h("div", { class: "below" },
          h("section", { class: "panel", "aria-labelledby": "meas-title" },
            h("h2", { id: "meas-title", text: "Measurements" }), qualityLine(result),
            measurementTable(result.measurements || {})),
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
