// Median-beat evidence: for one finding, the network's attribution averaged over all beats and
// aligned on the R peak, drawn per lead as bars over one beat (small multiples, 6×2 like the
// paper). It answers "which part of the beat, in which lead, drove this finding".
//
// What the service sends (explanation.median_beat): signed attribution, leads × bins, scaled so
// the largest |value| over all leads is 1, with start_s the first bin's time relative to R.
// explanation.beat_parts gives each part of the beat as [start, end] seconds from R (from the
// measurement stage's delineation of the median beat): drawn as light bands behind the bars
// and named under each column, so "ST segment 40 %" can be matched to where the bars are.
import { h } from "./dom.js";
import { percent } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const GRID_S = 0.2; // one large box at 25 mm/s
const MIN_SHOWN = 0.02; // bars below 2 % of the strongest are noise at this size

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Milliseconds from R as a signed label: "−200", "R", "+400". */
function msFromR(t) {
  const ms = Math.round(t * 1000);
  if (ms === 0) return "R";
  return `${ms > 0 ? "+" : "−"}${Math.abs(ms)}`;
}

/** Geometry shared by every lead: bins, R position and grid times, all relative to R. */
export function beatAxis(map, rIndex) {
  const n = map.values.length ? map.values[0].length : 0;
  // start_s is relative to R (negative); median_r_index is its rounded bin, the fallback
  const rX = Number.isFinite(map.start_s) && map.start_s < 0 ? -map.start_s * map.fs : rIndex;
  const t0 = -rX / map.fs;
  const t1 = (n - rX) / map.fs;
  const grid = [];
  for (let t = Math.ceil(t0 / GRID_S) * GRID_S; t <= t1 + 1e-9; t += GRID_S) grid.push(t);
  return { n, rX, t0, t1, grid, x: (t) => (t - t0) * map.fs };
}

/** Where a lead's positive evidence peaks, in seconds from R, or null if it has none. */
export function peakTime(values, axis, fs) {
  let best = -1;
  let at = -1;
  values.forEach((v, k) => { if (v > best) { best = v; at = k; } });
  if (!(best > MIN_SHOWN)) return null;
  return (at + 0.5 - axis.rX) / fs;
}

const PART_SHORT = { "P wave": "P", "PR segment": "PR", "QRS complex": "QRS", "ST segment": "ST",
  "T wave": "T", "before QRS (P absent)": "no P" };

/**
 * The explanation's parts of the beat with their evidence shares, largest first; a part this
 * beat does not have (no P wave in AF, or a P wave where none was absent) is left out.
 */
export function segmentShares(explanation) {
  const parts = explanation.beat_parts || {};
  const known = Object.keys(parts).length > 0;
  return Object.entries(explanation.segments || {})
    .filter(([name]) => !known || name in parts || name === "between beats")
    .sort((a, b) => b[1] - a[1]);
}

/** The beat's parts clipped to the axis: [{name, short, x0, x1}] in bin units. */
export function partBands(parts, axis) {
  return Object.entries(parts || {})
    .filter(([name, w]) => PART_SHORT[name] && Array.isArray(w) && w.length === 2)
    .map(([name, [a, b]]) => ({ name, short: PART_SHORT[name],
      x0: Math.max(0, axis.x(a)), x1: Math.min(axis.n, axis.x(b)) }))
    .filter((p) => p.x1 > p.x0);
}

const bandClass = (b) => `mb-band-${b.short.toLowerCase().replace(/\W+/g, "")}`;

function leadBeat(values, axis, fs, label, bands) {
  const s = svg("svg", { viewBox: `0 0 ${axis.n} 100`, preserveAspectRatio: "none",
    class: "mb-svg", role: "img", "aria-label": label });
  for (const b of bands) {
    s.append(svg("rect", { x: b.x0, width: b.x1 - b.x0, y: 0, height: 100,
      class: `mb-band ${bandClass(b)}` }));
  }
  for (const t of axis.grid) {
    const x = axis.x(t);
    s.append(svg("line", { x1: x, x2: x, y1: 0, y2: 100, class: Math.abs(t) < 1e-9 ? "mb-r" : "mb-grid",
      "vector-effect": "non-scaling-stroke" }));
  }
  s.append(svg("line", { x1: 0, x2: axis.n, y1: 50, y2: 50, class: "mb-base",
    "vector-effect": "non-scaling-stroke" }));
  values.forEach((v, k) => {
    if (!(Math.abs(v) >= MIN_SHOWN)) return;
    const hgt = Math.min(1, Math.abs(v)) * 48;
    s.append(svg("rect", { x: k + 0.08, width: 0.84, y: v > 0 ? 50 - hgt : 50, height: hgt,
      class: v > 0 ? "mb-for" : "mb-against" }));
  });
  return s;
}

const ORDER_3X4 = [["I", "II", "III"], ["aVR", "aVL", "aVF"], ["V1", "V2", "V3"], ["V4", "V5", "V6"]];

/** Columns of lead names: 3×4 like the paper above it when the 12 standard leads are there. */
export function beatColumns(leads) {
  const standard = ORDER_3X4.flat();
  if (standard.every((l) => leads.includes(l))) return ORDER_3X4;
  const per = Math.ceil(leads.length / 4);
  return [0, 1, 2, 3].map((c) => leads.slice(c * per, (c + 1) * per)).filter((c) => c.length);
}

function at(t) {
  const label = msFromR(t);
  return label === "R" ? "at R" : `${label} ms from R`;
}

/**
 * The panel for one finding, or null when the service sent no median beat (no beat far
 * enough from the record's ends, or no R peak found).
 */
export function medianBeatPanel(explanation, finding = null) {
  const map = explanation && explanation.median_beat;
  if (!map || !Array.isArray(map.values) || !map.values.length || !(map.fs > 0)) return null;
  const axis = beatAxis(map, explanation.median_r_index);
  if (!axis.n) return null;
  const bands = partBands(explanation.beat_parts, axis);
  const shares = new Map((explanation.leads || []).map((l) => [l.lead, l.share]));
  let strongest = null;
  const cells = new Map(map.leads.map((lead, i) => {
    const values = map.values[i];
    const peak = peakTime(values, axis, map.fs);
    const top = Math.max(...values);
    if (peak !== null && (!strongest || top > strongest.value)) strongest = { lead, t: peak, value: top };
    const share = shares.get(lead);
    const label = `${lead}: ${share === undefined ? "" : `${percent(share)} of the evidence; `}` +
      (peak === null ? "no evidence for the finding over the beat" : `evidence peaks ${at(peak)}`);
    return [lead, h("div", { class: `mb-cell${share >= 0.1 ? " strong" : ""}`, "data-lead": lead },
      h("span", { class: "mb-lead", "aria-hidden": "true" }, lead,
        share === undefined ? null : h("span", { class: "mb-share", text: percent(share) })),
      leadBeat(values, axis, map.fs, label, bands))];
  }));
  // built per column: a cloned style attribute would meet the CSP's ban on inline styles
  const ticks = () => h("div", { class: "mb-cell mb-axis-row", "aria-hidden": "true" },
    h("span", { class: "mb-lead", text: "ms" }),
    h("div", { class: "mb-axis" }, axis.grid.map((t) => {
      // every other label gives way when the column is narrow (a container query in app.css)
      const major = Math.abs(Math.round(t / GRID_S)) % 2 === 0;
      const tick = h("span", { class: `mb-tick${Math.abs(t) < 1e-9 ? " r" : ""}${major ? "" : " minor"}`,
        text: msFromR(t) });
      tick.style.left = `${(axis.x(t) / axis.n) * 100}%`;
      return tick;
    })));
  const partsRow = () => bands.length ? h("div", { class: "mb-cell mb-axis-row", "aria-hidden": "true" },
    h("span", { class: "mb-lead", text: "part" }),
    // a part narrower than 6 % of the beat (often PR) keeps its band but not its label, and so
    // does the P-less interval, whose label would run into the QRS label next to it
    h("div", { class: "mb-axis mb-parts-axis" }, bands.filter((b) => (b.x1 - b.x0) / axis.n >= 0.06
      && b.short !== "no P").map((b) => {
      const tag = h("span", { class: `mb-tick mb-part-tag ${bandClass(b)}`, text: b.short });
      tag.style.left = `${(((b.x0 + b.x1) / 2) / axis.n) * 100}%`;
      return tag;
    }))) : null;
  const segments = segmentShares(explanation);
  const title = finding ? `Median-beat evidence: ${finding.label}` : "Median-beat evidence";
  return h("section", { class: "panel median-beat", "aria-label": title },
    h("div", { class: "mb-head" },
      h("h2", { text: title }),
      segments.length ? h("p", { class: "mb-parts small", "aria-label": "Share of the evidence per part of the beat" },
        segments.map(([name, share]) => h("span", { class: `mb-part${share >= 0.2 ? " major" : ""}` },
          `${name} `, h("b", { text: percent(share) })))) : null),
    h("p", { class: "muted small mb-lede" },
      strongest ? `Strongest in ${strongest.lead}, ${at(strongest.t)}. ` : "",
      "Averaged over the record's beats, aligned on R (dashed line); grid every 200 ms; " +
      "% = the lead's share of the evidence over the whole record." +
      (bands.length ? ` Shaded bands: the parts of the beat (${bands.map((b) => b.short).join(", ")}) ` +
        "as measured on the median beat." : " The parts of the beat are not known for this result.")),
    h("div", { class: "mb-grid-wrap" }, beatColumns(map.leads).map((col) =>
      h("div", { class: "mb-col" }, col.map((l) => cells.get(l)), ticks(), partsRow()))),
    h("p", { class: "mb-legend small muted" },
      h("span", { class: "mb-key for", "aria-hidden": "true" }), "evidence for the finding",
      h("span", { class: "mb-key against", "aria-hidden": "true" }), "against it"));
}
