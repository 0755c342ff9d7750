"""The printed report: a cart-style first page and one explanation page per finding.

Page 1 reads like a 12-lead cart printout — identification, measurements and statements on top,
the 3 × 4 + rhythm tracing on 1 mm / 5 mm paper below, with the top finding's attribution
drawn behind the trace. Each further page repeats the tracing with one finding's attribution
and says in words where the network looked.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ecglens.interpret.result import Finding, Interpretation
from ecglens.record import ECG
from ecglens.report.paper import (
    CAL_WIDTH_MM,
    COLUMN_S,
    MM_PER_S,
    Overlay,
    draw_median_beats,
    draw_twelve_lead,
)

PAGE_W_MM, PAGE_H_MM = 297.0, 210.0  # A4 landscape, the paper most carts print on
GRID_H_MM = 144.0
GRID_BOTTOM_MM = 12.0
DISCLAIMER = "Computer interpretation — unconfirmed; must be reviewed by a qualified physician."

_RC: Any = {"pdf.fonttype": 3, "pdf.compression": 1, "font.family": "DejaVu Sans"}


def _fmt(value: float | None, unit: str = "ms") -> str:
    return "—" if value is None else f"{value:.0f} {unit}".strip()


def _overlay(finding: Finding | None, *, median: bool = False) -> Overlay | None:
    if finding is None or finding.explanation is None:
        return None
    raw = finding.explanation.median_beat if median else finding.explanation.raw
    if raw is None:
        return None
    vals = np.clip(np.asarray(raw.values, dtype=float), 0.0, None)
    positive = vals[vals > 0]
    if positive.size == 0:
        return None
    # gradient maps are spiky: scaled by their maximum, all but one spike would be invisible;
    # the 95th percentile of the positive values is full colour, anything above it saturates
    return Overlay(tuple(raw.leads), np.clip(vals / np.percentile(positive, 95), 0, 1), raw.fs,
                   raw.start_s)


def _identification(interp: Interpretation) -> list[str]:
    p, r = interp.patient, interp.record
    ident = ("Patient: de-identified" if p.deidentified
             else f"Name: {p.name or '—'}   ID: {p.patient_id or '—'}")
    lines = [ident]
    age = f"{p.age_years:.0f} y" if p.age_years is not None else "—"
    lines.append(f"Age: {age}   Sex: {p.sex or '—'}")
    if not p.deidentified and p.birth_date:
        lines.append(f"Born: {p.birth_date}")
    if r.acquisition_time is not None:
        lines.append(f"Acquired: {r.acquisition_time:%Y-%m-%d %H:%M}")
    lines.append(f"Record: {r.file or '—'} ({r.format})")
    lines.append(f"{len(r.leads)} leads, {r.sampling_rate_hz:g} Hz, {r.duration_s:.1f} s")
    if interp.ecg_age is not None:
        a = interp.ecg_age
        diff = (f" ({a.difference_years:+.0f} y vs stated)"
                if a.difference_years is not None else "")
        lines.append(f"ECG-age: {a.predicted_years:.0f} y{diff}")
    return lines


def _measurement_lines(interp: Interpretation) -> list[str]:
    m = interp.measurements
    axes = " / ".join("—" if v is None else f"{v:.0f}"
                      for v in (m.p_axis_deg, m.qrs_axis_deg, m.t_axis_deg))
    return [
        f"Vent. rate  {_fmt(m.heart_rate_bpm, 'bpm')}",
        f"PR          {_fmt(m.pr_ms)}",
        f"QRS         {_fmt(m.qrs_ms)}",
        f"QT / QTcB   {_fmt(m.qt_ms, '')} / {_fmt(m.qtc_bazett_ms)}",
        f"QTcF        {_fmt(m.qtc_fridericia_ms)}",
        f"P-R-T axes  {axes}",
        f"Quality     {interp.quality.verdict}",
    ]


def _statement_lines(interp: Interpretation) -> list[tuple[str, str]]:
    """(text, colour) pairs: abstention first, then findings, reversal and consistency flags."""
    out: list[tuple[str, str]] = []
    if interp.abstention.abstained:
        out.append(("NO INTERPRETATION: " + "; ".join(interp.abstention.reasons), "#b00000"))
    out += [(f"Caution: {c}", "#a05000") for c in interp.abstention.caution]
    for f in interp.findings[:9]:
        mark = "" if f.confident else " (possible)"
        p = "measured" if f.probability is None else f"p={f.probability:.2f}"
        out.append((f"{f.label}{mark}  {p}", "#000000"))
    if len(interp.findings) > 9:
        out.append((f"… and {len(interp.findings) - 9} more (see JSON)", "#000000"))
    # the overall line closes the statements, as the engine prints them: the last printed line
    # beyond the findings' own (none where a "Normal ECG" finding already says it)
    if len(interp.statements) > len(interp.findings):
        out.append((interp.statements[-1], "#000000"))
    rev = interp.lead_reversal
    if rev.suspected:
        out.append(((f"⚠ Suspected lead reversal {rev.suspected} ({rev.rarity()}) — check "
                     "electrodes"), "#b00000"))
    elif rev.not_assessed:
        out.append((f"Lead reversal: {rev.not_assessed}", "#555555"))
    for flag in interp.consistency[:4]:
        out.append((f"⚠ {flag.message}", "#a05000"))
    return out


def _header(fig: Figure, interp: Interpretation, title: str) -> None:
    top = 1.0 - 8.0 / PAGE_H_MM
    fig.text(10 / PAGE_W_MM, top, title, fontsize=11, fontweight="bold", va="top")
    y = top - 6.0 / PAGE_H_MM
    for i, line in enumerate(_identification(interp)):
        fig.text(10 / PAGE_W_MM, y - i * 3.9 / PAGE_H_MM, line, fontsize=7.2, va="top")
    for i, line in enumerate(_measurement_lines(interp)):
        fig.text(88 / PAGE_W_MM, y - i * 3.9 / PAGE_H_MM, line, fontsize=7.2, va="top",
                 family="DejaVu Sans Mono")
    wrapped = [(("   " if j else "") + part, colour)
               for line, colour in _statement_lines(interp)
               for j, part in enumerate(textwrap.wrap(line, 84))]
    for i, (line, colour) in enumerate(wrapped[:12]):
        fig.text(150 / PAGE_W_MM, top - i * 3.5 / PAGE_H_MM, line, fontsize=7.2, va="top",
                 color=colour)


def _footer(fig: Figure, interp: Interpretation, note: str) -> None:
    models = ", ".join(f"{m.name} {m.version} sha256:{m.sha256[:12]}" for m in interp.models)
    text = (f"25 mm/s   10 mm/mV   display filter 0.5 Hz high-pass   |   {note}   |   "
            f"ecglens {interp.ecglens_version}" + (f"   |   {models}" if models else ""))
    fig.text(10 / PAGE_W_MM, 6.5 / PAGE_H_MM, text, fontsize=5.8, va="bottom", color="#333333")
    fig.text(10 / PAGE_W_MM, 3.0 / PAGE_H_MM, DISCLAIMER, fontsize=5.8, va="bottom",
             color="#333333", style="italic")


def _grid_axes(fig: Figure) -> Axes:
    width = CAL_WIDTH_MM + 4 * COLUMN_S * MM_PER_S
    left = (PAGE_W_MM - width) / 2.0
    return fig.add_axes((left / PAGE_W_MM, GRID_BOTTOM_MM / PAGE_H_MM,
                         width / PAGE_W_MM, GRID_H_MM / PAGE_H_MM))


def _new_page() -> Figure:
    return Figure(figsize=(PAGE_W_MM / 25.4, PAGE_H_MM / 25.4))


def summary_page(ecg: ECG, interp: Interpretation) -> Figure:
    fig = _new_page()
    _header(fig, interp, f"{ecg.n_leads}-lead ECG — ecglens interpretation")
    top = interp.top_finding
    overlay = _overlay(top)
    draw_twelve_lead(_grid_axes(fig), ecg, height_mm=GRID_H_MM, overlay=overlay)
    note = (f"shading: where the network looked for '{top.label}'" if overlay and top
            else "no attribution overlay")
    _footer(fig, interp, note)
    return fig


def finding_page(ecg: ECG, interp: Interpretation, finding: Finding, index: int,
                 medians: tuple[np.ndarray, float, int] | None = None) -> Figure:
    """One finding: numbers and words on the left, median beats with the beat-averaged
    attribution on the right, the full tracing with this finding's attribution below."""
    fig = _new_page()
    fig.text(10 / PAGE_W_MM, 1 - 8 / PAGE_H_MM,
             f"Finding {index}: {finding.label} ({finding.code})", fontsize=11,
             fontweight="bold", va="top")
    conf = "confident" if finding.confident else "possible"
    if finding.probability is None or finding.threshold is None:
        lines = [f"Category: {finding.category}. From the measurements ({conf})."]
    else:
        lines = [
            (f"Category: {finding.category}. Calibrated probability {finding.probability:.2f} "
            f"(reported above {finding.threshold:.2f}; {conf}; source {finding.source})."),
        ]
    exp = finding.explanation
    if exp is not None:
        lines.append(f"Where the network looked ({exp.method.replace('_', ' ')}): "
                     f"{exp.summary}.")
        leads = ", ".join(f"{s.lead} {s.share:.0%}" for s in exp.leads[:6])
        lines.append(f"Share of evidence by lead: {leads}.")
        segs = ", ".join(f"{k} {v:.0%}" for k, v in
                         sorted(exp.segments.items(), key=lambda kv: -kv[1]) if v >= 0.05)
        lines.append(f"By part of the beat: {segs}.")
    else:
        lines.append("No explanation was computed for this finding.")
    lines += [f"⚠ {msg}" for msg in finding.consistency]
    y = 16.0
    for line in lines:
        for j, part in enumerate(textwrap.wrap(line, 88)):
            fig.text(10 / PAGE_W_MM, 1 - y / PAGE_H_MM, ("   " if j else "") + part,
                     fontsize=7.5, va="top",
                     color="#a05000" if line.startswith("⚠") else "#000000")
            y += 4.2
    if medians is not None and medians[0].size:
        beats, beats_fs, r_index = medians
        w, h = 6 * 0.8 * MM_PER_S, 2 * 20.0
        ax = fig.add_axes(((PAGE_W_MM - 10 - w) / PAGE_W_MM, 1 - (8 + h) / PAGE_H_MM,
                           w / PAGE_W_MM, h / PAGE_H_MM))
        draw_median_beats(ax, beats, beats_fs, r_index, ecg.leads,
                          overlay=_overlay(finding, median=True))
        fig.text((PAGE_W_MM - 10 - w) / PAGE_W_MM, 1 - (9 + h) / PAGE_H_MM,
                 "median beats, attribution averaged over beats", fontsize=5.8, va="top",
                 color="#333333")
    draw_twelve_lead(_grid_axes(fig), ecg, height_mm=GRID_H_MM, overlay=_overlay(finding))
    _footer(fig, interp, f"shading: attribution for '{finding.label}' (orange → red = more)")
    return fig


def _standard(ecg: ECG) -> ECG:
    """The 12 standard leads when the record has or implies them; else the record as it is."""
    try:
        return ecg.to_standard_12()
    except ValueError:
        return ecg


def _median_beats(interp: Interpretation, leads: tuple[str, ...]
                  ) -> tuple[np.ndarray, float, int] | None:
    """The measurement stage's median beats (leads × samples, mV), their rate and R index,
    as they travel in the interpretation; ``None`` if there are none for these leads."""
    mb = interp.measurement.median_beats
    if mb is None or tuple(mb.leads) != leads:
        return None
    beats = np.array(mb.values_uv, dtype=np.float64) / 1000.0  # None (uncovered) -> NaN
    return beats, mb.fs, round(-mb.start_ms * mb.fs / 1000.0)


def render_pages(ecg: ECG, interp: Interpretation) -> list[Figure]:
    """Page 1 plus one page per finding that carries an explanation."""
    ecg12 = _standard(ecg)
    with matplotlib.rc_context(_RC):
        pages = [summary_page(ecg12, interp)]
        explained = [f for f in interp.findings if f.explanation is not None]
        medians = _median_beats(interp, ecg12.leads) if explained else None
        pages += [finding_page(ecg12, interp, f, i + 1, medians)
                  for i, f in enumerate(explained)]
    return pages


def write_pdf(ecg: ECG, interp: Interpretation, path: str | Path) -> int:
    """Write the report as a multi-page PDF; returns the number of pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    pages = render_pages(ecg, interp)
    with matplotlib.rc_context(_RC), PdfPages(str(path), metadata={
        "Title": "ecglens ECG interpretation", "Creator": f"ecglens {interp.ecglens_version}",
    }) as pdf:
        for fig in pages:
            pdf.savefig(fig)
    return len(pages)


def write_png(ecg: ECG, interp: Interpretation, path: str | Path, *, dpi: int = 150) -> None:
    """Page 1 as PNG (at 150 dpi one 1 mm square is about 6 pixels)."""
    with matplotlib.rc_context(_RC):
        fig = summary_page(_standard(ecg), interp)
        fig.savefig(str(path), dpi=dpi, facecolor="white")
