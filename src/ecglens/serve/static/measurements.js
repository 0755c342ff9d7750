// The measurement table and the warnings that must be read before any finding.
import { api } from "./api.js";
import { h } from "./dom.js";
import { qualityBadge } from "./format.js";

// The measurement fields, labels, units and adult ranges come from the service
// (GET /api/v1/schema), where they are defined once; the limits only flag a value for attention.
let specsPromise = null;

export function measurementSpecs() {
  if (!specsPromise) {
    specsPromise = api.schema().then((s) => s.measurements).catch((e) => {
      specsPromise = null; // ask again next time
      throw e;
    });
  }
  return specsPromise;
}

function rangeText(low, high, unit) {
  if (low == null && high == null) return "";
  if (low == null) return `< ${high} ${unit}`.replace(" °", "°");
  if (high == null) return `> ${low} ${unit}`;
  return `${low} to ${high}${unit === "°" ? "°" : ` ${unit}`}`;
}

export function measurementTable(m, specs) {
  const reasons = m.not_measured || {};
  const rows = specs.map(({ field: key, label, unit, low, high }) => {
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

export function alerts(result) {
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
  // how often a correctly wired ECG scores this high (absent in results stored before 0.3.1)
  const rarity = (rate) => typeof rate !== "number" ? "" : ", reached by " +
    (rate < 1e-4 ? "< 0.01 %" : `${(100 * rate).toFixed(2)} %`) + " of correctly wired ECGs";
  if (lr.suspected) {
    add("danger", `Lead reversal suspected: ${lr.suspected}`,
      [`score ${lr.confidence.toFixed(2)}${rarity(lr.false_alarm_rate)}; check the electrode ` +
        "placement and repeat the recording"]);
  } else if (lr.not_assessed) {
    add("info", "Lead reversal not assessed", [lr.not_assessed]);
  }
  if (ab.caution && ab.caution.length) add("warning", "Caution: no finding is marked confident", ab.caution);
  const flags = result.consistency || [];
  if (flags.length) {
    add("warning", "Findings that disagree with the measurements",
      flags.map((f) => f.message || `${f.finding}: needs ${f.check}, measured ${f.observed}`));
  }
  return items;
}

export function qualityLine(result) {
  const q = result.quality || {};
  return h("p", { class: "quality-line" }, "Signal quality ", qualityBadge(q.verdict),
    q.verdict === "acceptable" ? h("span", { class: "muted", text: " in all leads" }) : null);
}
