// The ECG on millimetre paper: geometry in millimetres, one path per lead, the grid drawn once
// per size into an offscreen canvas, device-pixel-ratio aware.

export const LAYOUTS = {
  // columns of leads, in reading order; rhythm: the lead drawn as a full-length strip below
  "3x4": { columns: [["I", "II", "III"], ["aVR", "aVL", "aVF"], ["V1", "V2", "V3"],
    ["V4", "V5", "V6"]], rhythm: "II", mvPerRow: 3.0, label: "3×4 + rhythm II" },
  "6x2": { columns: [["I", "II", "III", "aVR", "aVL", "aVF"], ["V1", "V2", "V3", "V4", "V5", "V6"]],
    rhythm: null, mvPerRow: 2.5, label: "6×2" },
  "12x1": { columns: [["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]],
    rhythm: null, mvPerRow: 2.0, label: "12×1" },
};

const WINDOW_S = 10; // seconds on one page, as on a standard 12-lead printout
const CAL_S = 0.2; // calibration pulse: 1 mV for 200 ms
const COLORS = {
  paper: "#fffdfd", minor: "#f6d4d4", major: "#e6a3a3", trace: "#111418",
  label: "#2b2f36", overlay: [0, 98, 179], strongLabel: "#00509e", separator: "#444",
};

/**
 * Zero-phase first-order high-pass (forward and backward), enough to keep a trace in its row
 * without the ringing of sharper filters; bidirectional filtering is what diagnostic
 * standards accept for display at these cut-offs because it adds no phase shift to the ST segment.
 */
export function highPass(x, fs, fc) {
  const n = x.length;
  if (!n) return new Float32Array(0);
  // mirror 1 s at both ends so the filter does not swing where the record starts; a plain
  // mirror, not an odd reflection about the end sample, which would turn a single spiky first
  // sample (some carts write one) into a step
  const pad = Math.min(n - 1, Math.round(fs));
  const m = n + 2 * pad;
  const y = new Float32Array(m);
  for (let i = 0; i < pad; i += 1) {
    y[i] = x[pad - i];
    y[m - 1 - i] = x[n - 1 - pad + i];
  }
  y.set(x, pad);
  const rc = 1 / (2 * Math.PI * fc);
  const a = rc / (rc + 1 / fs);
  for (const backward of [false, true]) {
    let prevX = y[backward ? m - 1 : 0];
    let prevY = 0;
    for (let k = 0; k < m; k += 1) {
      const i = backward ? m - 1 - k : k;
      const v = y[i];
      prevY = a * (prevY + v - prevX);
      prevX = v;
      y[i] = prevY;
    }
  }
  return y.slice(pad, pad + n);
}

function fillGaps(raw) {
  const values = new Float32Array(raw.length);
  const missing = [];
  let last = 0;
  let seen = false;
  for (let i = 0; i < raw.length; i += 1) {
    const v = raw[i];
    if (v === null || v === undefined || Number.isNaN(v)) {
      missing.push(i);
      values[i] = last;
    } else {
      if (!seen) {
        values.fill(v, 0, i); // leading gap: hold the first value
        seen = true;
      }
      values[i] = v;
      last = v;
    }
  }
  return { values, missing };
}

function median(values) {
  const s = Float32Array.from(values).sort();
  return s.length ? s[s.length >> 1] : 0;
}

export class EcgCanvas {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{fs: number, leads: string[], data: number[][]}} signal millivolts
   */
  constructor(canvas, signal) {
    this.canvas = canvas;
    this.signal = signal;
    this.fs = signal.fs;
    this.nSamples = signal.data.length ? signal.data[0].length : 0;
    this.duration = this.nSamples / this.fs;
    this.options = { layout: "3x4", speed: 25, gain: 10, zoom: 1, filter: 0.5, start: 0 };
    this.overlay = null; // {map: AttributionMap, leads: Set of highlighted lead names}
    this.leadQuality = new Map(); // lead -> "limited" | "unacceptable", marked beside its label
    this.filtered = new Map(); // cut-off -> Float32Array per lead
    this.gridCache = { key: "", canvas: null };
    this.fitWidth = 1000;
  }

  setOptions(patch) {
    Object.assign(this.options, patch);
    const maxStart = Math.max(0, this.duration - WINDOW_S);
    this.options.start = Math.min(Math.max(0, this.options.start), maxStart);
  }

  setOverlay(map, strongLeads = []) {
    this.overlay = map ? { map, strong: new Set(strongLeads) } : null;
  }

  setLeadQuality(leads) {
    const flagged = (leads || []).filter((l) => l.verdict !== "acceptable");
    // every lead with the same verdict: the banner above says so once, twelve tags add noise
    const uniform = flagged.length === (leads || []).length &&
      new Set(flagged.map((l) => l.verdict)).size === 1;
    this.leadQuality = uniform ? new Map() : new Map(flagged.map((l) => [l.lead, l.verdict]));
  }

  setFitWidth(width) {
    this.fitWidth = Math.max(320, width);
  }

  traces() {
    const key = this.options.filter || 0;
    if (!this.filtered.has(key)) {
      this.filtered.set(key, this.signal.data.map((raw) => {
        // missing samples (null) are bridged for the filter and left out of the drawing
        const { values, missing } = fillGaps(raw);
        let out;
        if (key) {
          out = highPass(values, this.fs, key);
        } else {
          // unfiltered: centre on the median so the trace sits on its baseline
          const m = median(values);
          out = Float32Array.from(values, (v) => v - m);
        }
        for (const i of missing) out[i] = NaN;
        return out;
      }));
    }
    return this.filtered.get(key);
  }

  /** Everything in millimetres: where each lead goes. */
  geometry() {
    const { layout, speed, gain, start } = this.options;
    const spec = LAYOUTS[layout] || LAYOUTS["3x4"];
    const windowS = Math.min(WINDOW_S, this.duration - start);
    const calMm = CAL_S * speed;
    const left = Math.ceil((calMm + 4) / 5) * 5;
    const rowMm = Math.max(10, Math.round((spec.mvPerRow * gain) / 5) * 5);
    // a record that is not a 12-lead (a Holter's MLII and V5) keeps its own lead order
    const nStandard = this.signal.leads.filter((l) => spec.columns.flat().includes(l)).length;
    const columns = nStandard < 6 && spec.columns.length === 1 ? [this.signal.leads] : spec.columns;
    const nCols = columns.length;
    const colS = windowS / nCols;
    const available = new Set(this.signal.leads);
    const cells = [];
    const nRows = Math.max(...columns.map((c) => c.length));
    columns.forEach((column, c) => {
      column.forEach((lead, r) => {
        cells.push({ lead, present: available.has(lead), row: r,
          t0: start + c * colS, t1: start + (c + 1) * colS,
          x0: left + c * colS * speed, y0: r * rowMm });
      });
    });
    let rows = nRows;
    if (spec.rhythm) {
      cells.push({ lead: spec.rhythm, present: available.has(spec.rhythm), row: rows,
        t0: start, t1: start + windowS, x0: left, y0: rows * rowMm, rhythm: true });
      rows += 1;
    }
    // leads the layout does not name (an ambulatory record's MLII, V5...) get rows of their own
    const named = new Set(columns.flat());
    for (const lead of this.signal.leads) {
      if (named.has(lead)) continue;
      cells.push({ lead, present: true, row: rows, t0: start, t1: start + windowS,
        x0: left, y0: rows * rowMm, rhythm: true });
      rows += 1;
    }
    const shown = cells.filter((c) => c.present);
    // drop rows without any lead (a 2-lead record in 12×1 would otherwise be mostly blank)
    const usedRows = [...new Set(shown.map((c) => c.row))].sort((a, b) => a - b);
    const rowIndex = new Map(usedRows.map((r, i) => [r, i]));
    for (const cell of shown) cell.y0 = rowIndex.get(cell.row) * rowMm;
    return {
      cells: shown, left, rowMm, calMm, colS, windowS, nCols,
      width: left + windowS * speed + 5,
      height: usedRows.length * rowMm + 5,
      rows: usedRows.length,
    };
  }

  pxPerMm(geom) {
    // zoom 1 fits the page at 25 mm/s into the available width; faster paper gets wider
    const widthAt25 = geom.left + geom.windowS * 25 + 5;
    const fit = Math.min(6, Math.max(2.4, this.fitWidth / widthAt25));
    return fit * this.options.zoom;
  }

  grid(widthPx, heightPx, mm, dpr) {
    const key = `${widthPx}x${heightPx}@${mm.toFixed(4)}@${dpr}`;
    if (this.gridCache.key === key) return this.gridCache.canvas;
    const off = document.createElement("canvas");
    off.width = Math.round(widthPx * dpr);
    off.height = Math.round(heightPx * dpr);
    const g = off.getContext("2d");
    g.fillStyle = COLORS.paper;
    g.fillRect(0, 0, off.width, off.height);
    const step = mm * dpr;
    const line = (isMajor, vertical, i) => {
      const p = Math.round(i * step) + 0.5;
      g.beginPath();
      if (vertical) { g.moveTo(p, 0); g.lineTo(p, off.height); } else { g.moveTo(0, p); g.lineTo(off.width, p); }
      g.strokeStyle = isMajor ? COLORS.major : COLORS.minor;
      g.lineWidth = isMajor ? Math.max(1, dpr) : 1;
      g.stroke();
    };
    const nx = Math.ceil(off.width / step);
    const ny = Math.ceil(off.height / step);
    // minor first so the major lines stay crisp where they cross
    for (let i = 0; i <= nx; i += 1) if (i % 5) line(false, true, i);
    for (let i = 0; i <= ny; i += 1) if (i % 5) line(false, false, i);
    for (let i = 0; i <= nx; i += 5) line(true, true, i);
    for (let i = 0; i <= ny; i += 5) line(true, false, i);
    this.gridCache = { key, canvas: off };
    return off;
  }

  draw() {
    performance.mark("ecglens:draw-start");
    const geom = this.geometry();
    const mm = this.pxPerMm(geom);
    const dpr = window.devicePixelRatio || 1;
    const widthPx = Math.ceil(geom.width * mm);
    const heightPx = Math.ceil(geom.height * mm);
    const c = this.canvas;
    if (c.width !== Math.round(widthPx * dpr) || c.height !== Math.round(heightPx * dpr)) {
      c.width = Math.round(widthPx * dpr);
      c.height = Math.round(heightPx * dpr);
    }
    c.dataset.pxPerMm = mm.toFixed(5); // the scale, for calipers and tests
    c.style.width = `${widthPx}px`;
    c.style.height = `${heightPx}px`;
    const ctx = c.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.grid(widthPx, heightPx, mm, dpr), 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this.overlay) this.drawOverlay(ctx, geom, mm);
    this.drawCalibration(ctx, geom, mm);
    this.drawTraces(ctx, geom, mm);
    this.drawLabels(ctx, geom, mm);
    this.geom = { ...geom, mm };
    // a user-timing entry, so the drawing cost can be read from the browser's performance tools
    performance.measure("ecglens:draw", "ecglens:draw-start");
    return this.geom;
  }

  baselineMm(cell, geom) {
    return cell.y0 + geom.rowMm * 0.55;
  }

  drawCalibration(ctx, geom, mm) {
    const { gain } = this.options;
    ctx.beginPath();
    const rowsDone = new Set();
    for (const cell of geom.cells) {
      if (rowsDone.has(cell.y0)) continue;
      rowsDone.add(cell.y0);
      const y = this.baselineMm(cell, geom) * mm;
      const x0 = 2 * mm;
      const w = geom.calMm * mm;
      ctx.moveTo(x0 - 1.5 * mm, y);
      ctx.lineTo(x0, y);
      ctx.lineTo(x0, y - gain * mm);
      ctx.lineTo(x0 + w, y - gain * mm);
      ctx.lineTo(x0 + w, y);
      ctx.lineTo(x0 + w + 1.5 * mm, y);
    }
    ctx.strokeStyle = COLORS.trace;
    ctx.lineWidth = 1.2;
    ctx.lineJoin = "miter";
    ctx.stroke();
  }

  drawTraces(ctx, geom, mm) {
    const { speed, gain } = this.options;
    const traces = this.traces();
    const index = new Map(this.signal.leads.map((l, i) => [l, i]));
    ctx.strokeStyle = COLORS.trace;
    ctx.lineWidth = Math.max(1, Math.min(1.6, mm * 0.3));
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    const pxPerSample = (speed * mm) / this.fs;
    const yScale = gain * mm; // px per mV
    for (const cell of geom.cells) {
      const trace = traces[index.get(cell.lead)];
      const i0 = Math.max(0, Math.floor(cell.t0 * this.fs));
      const i1 = Math.min(trace.length, Math.ceil(cell.t1 * this.fs));
      const x0 = cell.x0 * mm;
      const y0 = this.baselineMm(cell, geom) * mm;
      ctx.beginPath();
      let pen = false;
      for (let i = i0; i < i1; i += 1) {
        const v = trace[i];
        if (Number.isNaN(v)) {
          pen = false;
          continue;
        }
        const x = x0 + (i - i0) * pxPerSample;
        if (pen) ctx.lineTo(x, y0 - v * yScale);
        else ctx.moveTo(x, y0 - v * yScale);
        pen = true;
      }
      ctx.stroke();
    }
    // column separators, as on paper: a short bar where one lead group hands over to the next
    ctx.beginPath();
    for (const cell of geom.cells) {
      if (cell.rhythm || cell.x0 === geom.left) continue;
      const x = cell.x0 * mm;
      const y = this.baselineMm(cell, geom) * mm;
      ctx.moveTo(x, y - 2.5 * mm);
      ctx.lineTo(x, y + 2.5 * mm);
    }
    ctx.strokeStyle = COLORS.separator;
    ctx.lineWidth = 1.2;
    ctx.stroke();
  }

  drawLabels(ctx, geom, mm) {
    const size = Math.max(11, Math.min(16, 3.2 * mm));
    ctx.textBaseline = "top";
    for (const cell of geom.cells) {
      const strong = this.overlay && this.overlay.strong.has(cell.lead);
      ctx.font = `${strong ? 700 : 600} ${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
      const x = cell.x0 * mm + (cell.x0 === geom.left ? 1 : 1.5) * mm;
      const y = cell.y0 * mm + 1.2 * mm;
      const text = cell.lead;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = "rgba(255,253,253,0.85)";
      ctx.fillRect(x - 2, y - 1, w + 4, size + 2);
      ctx.fillStyle = strong ? COLORS.strongLabel : COLORS.label;
      ctx.fillText(text, x, y);
      const quality = this.leadQuality.get(cell.lead);
      if (quality) {
        // the lead's own quality verdict, so a noisy lead is not over-read
        const tag = quality === "unacceptable" ? "unacceptable" : "limited";
        ctx.font = `600 ${Math.round(size * 0.75)}px system-ui, -apple-system, "Segoe UI", sans-serif`;
        const tw = ctx.measureText(tag).width;
        const tx = x + w + 6;
        ctx.fillStyle = quality === "unacceptable" ? "#b42318" : "#9a6700";
        ctx.fillRect(tx - 2, y, tw + 6, size);
        ctx.fillStyle = "#fff";
        ctx.fillText(tag, tx + 1, y + size * 0.12);
      }
    }
  }

  drawOverlay(ctx, geom, mm) {
    const { map } = this.overlay;
    const { speed } = this.options;
    const index = new Map(map.leads.map((l, i) => [l, i]));
    const binS = 1 / map.fs;
    const [r, g, b] = COLORS.overlay;
    for (const cell of geom.cells) {
      const li = index.get(cell.lead);
      if (li === undefined) continue;
      const values = map.values[li];
      const first = Math.max(0, Math.floor((cell.t0 - map.start_s) / binS));
      const last = Math.min(values.length, Math.ceil((cell.t1 - map.start_s) / binS));
      for (let k = first; k < last; k += 1) {
        const v = values[k];
        if (!(v > 0.05)) continue; // only positive evidence for the finding
        const ts = Math.max(cell.t0, map.start_s + k * binS);
        const te = Math.min(cell.t1, map.start_s + (k + 1) * binS);
        if (te <= ts) continue;
        ctx.fillStyle = `rgba(${r},${g},${b},${(0.12 + 0.5 * Math.min(1, v)).toFixed(3)})`;
        ctx.fillRect((cell.x0 + (ts - cell.t0) * speed) * mm, (cell.y0 + 0.5) * mm,
          (te - ts) * speed * mm, (geom.rowMm - 1) * mm);
      }
    }
  }

  /** Time (s) and lead under a point in CSS pixels of the canvas, for the cursor readout. */
  locate(xPx, yPx) {
    if (!this.geom) return null;
    const { mm, cells, rowMm } = this.geom;
    const xMm = xPx / mm;
    const yMm = yPx / mm;
    const { speed, gain } = this.options;
    for (const cell of cells) {
      const x1 = cell.x0 + (cell.t1 - cell.t0) * speed;
      if (xMm >= cell.x0 && xMm < x1 && yMm >= cell.y0 && yMm < cell.y0 + rowMm) {
        const t = cell.t0 + (xMm - cell.x0) / speed;
        const mv = (this.baselineMm(cell, this.geom) - yMm) / gain;
        return { lead: cell.lead, t, mv };
      }
    }
    return null;
  }
}
