// Findings, confident and possible, each with its explanation: the summary, lead and beat-part
// shares, and the overlay that shades the tracing where the network's evidence lies.
import { clear, h } from "./dom.js";
import { percent } from "./format.js";
import { segmentShares } from "./medianbeat.js";

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

function explanationDetails(f, ecg) {
  const e = f.explanation;
  if (!e) return null;
  const top = (e.leads || []).slice(0, 6);
  const max = Math.max(...top.map((l) => l.share), 0.01);
  const segments = segmentShares(e);
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
    e.median_beat ? h("p", { class: "muted small mb-pointer",
      text: "Below the tracing: this evidence over one median beat, lead by lead." }) : null,
    h("p", { class: "muted small", text: `Method: ${e.method.replaceAll("_", " ")}. Shading on the tracing marks where the network's evidence for this finding is high.` }));
}

function barFill(fraction) {
  const fill = h("span", { class: "bar-fill" });
  fill.style.width = `${Math.round(Math.max(0.02, Math.min(1, fraction)) * 100)}%`;
  return fill;
}

export function findingsPanel(result, ecg) {
  const findings = result.findings || [];
  const groups = [
    ["Confident", findings.filter((f) => f.confident)],
    // possible findings by probability: the order a reader scans them in
    ["Possible", findings.filter((f) => !f.confident).sort((a, b) => (b.probability ?? 1) - (a.probability ?? 1))],
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
          h("span", { class: "prob", text: f.probability == null ? "measured" : percent(f.probability) })),
        h("div", { class: "prob-track", "aria-hidden": "true" }, barFill(f.probability ?? 1)),
        h("div", { class: "finding-meta" },
          h("span", { class: "code", text: f.code }),
          h("span", { class: "chip", text: f.category }),
          h("span", { class: "muted", text: f.threshold == null ? `source ${f.source}` : `threshold ${percent(f.threshold)}` }),
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
          if (ecg.showBeat) ecg.showBeat(on ? f : null);
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
