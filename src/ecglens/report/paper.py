"""ECG paper: the grid, the calibration pulse and the 3 × 4 + rhythm-strip tracing, in millimetres.

Every drawing call works in paper millimetres on an axes whose data units are millimetres, so
25 mm/s and 10 mm/mV hold exactly when the figure is printed at 100 %. The layout is the one every
12-lead cart prints (GE MAC, Philips PageWriter): columns I–III, aVR–aVF, V1–V3, V4–V6, each
2.5 s, and a 10 s lead II rhythm strip underneath.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from scipy import signal as sps

from ecglens.record import ECG

MM_PER_S = 25.0
MM_PER_MV = 10.0
CAL_WIDTH_MM = 7.0  # room for the 1 mV calibration pulse at the start of each row
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"
COLUMN_S = 2.5

GRID_MINOR = "#f6c6c6"
GRID_MAJOR = "#e58080"
TRACE = "#111111"
#: transparent → orange → red: where the network looked, drawn behind the trace
OVERLAY_CMAP = LinearSegmentedColormap.from_list(
    "ecglens_attr", [(1.0, 0.6, 0.0, 0.0), (1.0, 0.55, 0.0, 0.45), (0.85, 0.0, 0.35, 0.6)]
)


@dataclass(frozen=True)
class Overlay:
    """Positive attribution, leads × bins, in [0, 1], starting at ``start_s`` with ``fs`` bins/s."""

    leads: tuple[str, ...]
    values: np.ndarray
    fs: float
    start_s: float = 0.0


def display_filter(ecg: ECG, *, highpass_hz: float = 0.5) -> np.ndarray:
    """Baseline-corrected signal for display (zero-phase high-pass, like a cart's baseline
    filter)."""
    sig = np.array(ecg.signal, dtype=float)
    gaps = ~np.isfinite(sig)  # leads recorded one after another (SCP-ECG) are NaN elsewhere
    if gaps.any():
        sig[gaps] = 0.0
    if ecg.n_samples < 3 * int(ecg.fs):
        out = sig - np.median(sig, axis=0)
    else:
        sos = sps.butter(2, highpass_hz, btype="highpass", fs=ecg.fs, output="sos")
        out = np.asarray(sps.sosfiltfilt(sos, sig, axis=0))
    out[gaps] = np.nan  # drawn as gaps, not as a flat line that was never recorded
    return out


def draw_grid(ax: Axes, width_mm: float, height_mm: float) -> None:
    """1 mm and 5 mm ruling over [0, width] × [0, height]."""
    # one compound path per ruling: a PDF with ~800 separate lines writes ten times slower
    def ruling(step: float) -> Path:
        xs = np.arange(0.0, width_mm + 1e-6, step)
        ys = np.arange(0.0, height_mm + 1e-6, step)
        starts = np.concatenate([np.column_stack([xs, np.zeros_like(xs)]),
                                 np.column_stack([np.zeros_like(ys), ys])])
        ends = np.concatenate([np.column_stack([xs, np.full_like(xs, height_mm)]),
                               np.column_stack([np.full_like(ys, width_mm), ys])])
        verts = np.empty((2 * len(starts), 2))
        verts[0::2], verts[1::2] = starts, ends
        codes = np.tile([Path.MOVETO, Path.LINETO], len(starts)).astype(Path.code_type)
        return Path(verts, codes)

    ax.add_patch(PathPatch(ruling(1.0), edgecolor=GRID_MINOR, facecolor="none",
                           linewidth=0.25, zorder=0))
    ax.add_patch(PathPatch(ruling(5.0), edgecolor=GRID_MAJOR, facecolor="none",
                           linewidth=0.6, zorder=0))
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.set_aspect("equal")
    ax.axis("off")


def calibration_pulse(ax: Axes, x0: float, y0: float) -> None:
    """1 mV for 200 ms: 10 mm high, 5 mm wide."""
    xs = [x0, x0 + 1, x0 + 1, x0 + 6, x0 + 6, x0 + 7]
    ys = [y0, y0, y0 + MM_PER_MV, y0 + MM_PER_MV, y0, y0]
    ax.plot(xs, ys, color=TRACE, linewidth=0.8, zorder=3)


def _overlay_strip(ax: Axes, overlay: Overlay, lead: str, t0: float, t1: float,
                   x0: float, y0: float, half_height: float) -> None:
    if lead not in overlay.leads:
        return
    row = overlay.values[overlay.leads.index(lead)]
    b0 = max(int(np.floor((t0 - overlay.start_s) * overlay.fs)), 0)
    b1 = min(int(np.ceil((t1 - overlay.start_s) * overlay.fs)), row.size)
    if b1 <= b0:
        return
    vals = np.clip(row[b0:b1], 0.0, 1.0)
    keep = np.flatnonzero(vals > 0.2)  # faint bins are clutter; leaving them out keeps PDFs small
    if keep.size == 0:
        return
    bin_mm = MM_PER_S / overlay.fs
    xs = x0 + (overlay.start_s + (b0 + keep) / overlay.fs - t0) * MM_PER_S
    boxes = [[(x, y0 - half_height), (x + bin_mm, y0 - half_height),
              (x + bin_mm, y0 + half_height), (x, y0 + half_height)] for x in xs]
    ax.add_collection(PolyCollection(boxes, facecolors=OVERLAY_CMAP(vals[keep]),
                                     edgecolors="none", zorder=1))


def _trace(ax: Axes, sig: np.ndarray, fs: float, t0: float, t1: float,
           x0: float, y0: float) -> None:
    i0, i1 = round(t0 * fs), min(round(t1 * fs), sig.size)
    if i1 - i0 < 2:
        return
    seg = sig[i0:i1]
    x = x0 + (np.arange(i0, i1) / fs - t0) * MM_PER_S
    ax.plot(x, y0 + seg * MM_PER_MV, color=TRACE, linewidth=0.55, zorder=3,
            solid_joinstyle="round")


def draw_twelve_lead(ax: Axes, ecg: ECG, *, height_mm: float,
                     overlay: Overlay | None = None) -> None:
    """3 × 4 standard layout plus a 10 s lead II rhythm strip, filling [0, 257] × [0, height].

    The ECG must hold the 12 standard leads (``ECG.to_standard_12``); records shorter than 10 s
    are drawn as far as they go, longer ones are shown from their start.
    """
    sig = display_filter(ecg)
    width = CAL_WIDTH_MM + 4 * COLUMN_S * MM_PER_S
    draw_grid(ax, width, height_mm)
    if all(lead in ecg.leads for row in LAYOUT for lead in row):
        rows: list[tuple[str, ...]] = [*LAYOUT, (RHYTHM_LEAD,)]
    else:  # not a 12-lead record (Holter, single lead): each lead as a 10 s strip
        rows = [(lead,) for lead in ecg.leads[:6]]
    row_h = height_mm / max(len(rows), 4)
    for r, names in enumerate(rows):
        y0 = height_mm - row_h * (r + 0.55)
        calibration_pulse(ax, 0.0, y0)
        for c, lead in enumerate(names):
            if len(names) == 1:
                t0, t1 = 0.0, 4 * COLUMN_S
            else:
                t0, t1 = c * COLUMN_S, (c + 1) * COLUMN_S
            x0 = CAL_WIDTH_MM + t0 * MM_PER_S
            if overlay is not None:
                _overlay_strip(ax, overlay, lead, t0, t1, x0, y0, row_h * 0.45)
            if lead in ecg.leads:
                _trace(ax, sig[:, ecg.leads.index(lead)], ecg.fs, t0, t1, x0, y0)
            ax.text(x0 + 1.5, y0 + row_h * 0.3, lead, fontsize=8, fontweight="bold",
                    color=TRACE, zorder=4, va="bottom")
            if c > 0:  # the short separator carts print between columns
                ax.plot([x0, x0], [y0 - 2.5, y0 + 2.5], color=TRACE, linewidth=0.8, zorder=3)


def draw_median_beats(ax: Axes, beats: np.ndarray, fs: float, r_index: int,
                      leads: tuple[str, ...], *, overlay: Overlay | None = None,
                      before_s: float = 0.3, after_s: float = 0.5, per_row: int = 6) -> None:
    """Each lead's median beat on paper (25 mm/s, 10 mm/mV), ``per_row`` to a row, with the
    beat-averaged attribution behind it; ``overlay.start_s`` is relative to the R peak."""
    n_rows = -(-len(leads) // per_row)
    cell_w = (before_s + after_s) * MM_PER_S
    cell_h = 20.0
    width, height = per_row * cell_w, n_rows * cell_h
    draw_grid(ax, width, height)
    i0 = max(r_index - round(before_s * fs), 0)
    i1 = min(r_index + round(after_s * fs), beats.shape[1])
    for k, lead in enumerate(leads):
        row, col = divmod(k, per_row)
        x0 = col * cell_w
        y0 = height - cell_h * (row + 0.6)
        seg = beats[k, i0:i1]
        if seg.size:
            seg = seg - np.median(seg[: max(int(0.05 * fs), 1)])  # start of the window = 0 mV
            t = (np.arange(i0, i1) - r_index) / fs + before_s
            ax.plot(x0 + t * MM_PER_S, y0 + seg * MM_PER_MV, color=TRACE, linewidth=0.7,
                    zorder=3)
        if overlay is not None:
            # overlay time is relative to R; shift it into this cell's clock (R at before_s)
            shifted = Overlay(overlay.leads, overlay.values, overlay.fs,
                              overlay.start_s + before_s)
            _overlay_strip(ax, shifted, lead, 0.0, before_s + after_s, x0, y0, cell_h * 0.45)
        ax.text(x0 + 1.0, y0 + cell_h * 0.3, lead, fontsize=7, fontweight="bold", color=TRACE,
                zorder=4, va="bottom")
        if col > 0:
            ax.plot([x0, x0], [y0 - cell_h * 0.4, y0 + cell_h * 0.4], color="#999999",
                    linewidth=0.4, zorder=2)
