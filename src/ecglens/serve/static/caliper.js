// Calipers: drag across the tracing to measure an interval (ms, and the rate it implies) and
// an amplitude (mV). Drawn on a transparent canvas above the tracing so the ECG is not redrawn.

export function attachCaliper(stack, view, onText) {
  const layer = document.createElement("canvas");
  layer.className = "ecg-caliper";
  layer.setAttribute("aria-hidden", "true");
  stack.append(layer);
  let start = null;
  let end = null;

  function size() {
    const main = view.canvas;
    const dpr = window.devicePixelRatio || 1;
    layer.width = main.width;
    layer.height = main.height;
    layer.style.width = main.style.width;
    layer.style.height = main.style.height;
    return dpr;
  }

  function measure() {
    const { mm } = view.geom;
    const { speed, gain } = view.options;
    const dtMs = (Math.abs(end.x - start.x) / mm / speed) * 1000;
    const dmv = (start.y - end.y) / mm / gain;
    return { dtMs, dmv };
  }

  function draw() {
    const dpr = size();
    const ctx = layer.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, layer.width, layer.height);
    if (!start || !end || !view.geom) return;
    const { dtMs, dmv } = measure();
    ctx.strokeStyle = "#0b5cad";
    ctx.fillStyle = "#0b5cad";
    ctx.lineWidth = 1.5;
    ctx.setLineDash([]);
    ctx.beginPath();
    for (const p of [start, end]) {
      ctx.moveTo(p.x, p.y - 14);
      ctx.lineTo(p.x, p.y + 14);
    }
    ctx.moveTo(start.x, start.y);
    ctx.lineTo(end.x, start.y);
    ctx.stroke();
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(end.x, start.y);
    ctx.lineTo(end.x, end.y);
    ctx.stroke();
    const text = `${Math.round(dtMs)} ms` +
      (dtMs >= 200 ? ` · ${Math.round(60000 / dtMs)} bpm` : "") + ` · ${dmv.toFixed(2)} mV`;
    ctx.font = "600 12px system-ui, sans-serif";
    const w = ctx.measureText(text).width;
    const x = Math.min(Math.max(start.x, end.x) + 6, layer.width / dpr - w - 8);
    const y = Math.max(16, Math.min(start.y, end.y) - 18);
    ctx.fillStyle = "rgba(255,255,255,0.92)";
    ctx.fillRect(x - 4, y - 13, w + 8, 18);
    ctx.fillStyle = "#0b3d73";
    ctx.fillText(text, x, y);
    onText(`Calipers: ${text}`);
  }

  const point = (event) => {
    const rect = layer.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  };
  layer.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    start = point(event);
    end = start;
    layer.setPointerCapture(event.pointerId);
    draw();
  });
  layer.addEventListener("pointermove", (event) => {
    if (start && layer.hasPointerCapture(event.pointerId)) {
      end = point(event);
      draw();
    }
  });
  layer.addEventListener("pointerup", (event) => {
    if (!start) return;
    end = point(event);
    if (Math.abs(end.x - start.x) < 3 && Math.abs(end.y - start.y) < 3) {
      start = null; // a click without a drag clears the calipers
      end = null;
      onText("");
    }
    draw();
  });
  return {
    layer,
    // the tracing changed scale: old caliper positions no longer mean the same interval
    reset() {
      start = null;
      end = null;
      draw();
    },
  };
}
