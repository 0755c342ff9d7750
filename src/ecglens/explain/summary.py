"""From a raw attribution map (leads × time) to what a cardiologist would say: which leads,
which part of the beat ("ST segment in V2–V4"), plus compact maps for the JSON and the report.

Only positive attribution (evidence *for* the finding) is summarised in words; the raw map
keeps its sign. Parts of the beat come from the measurement stage's delineation of the median
beat, replayed at every detected R peak; when delineation failed, fixed windows around R are used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ecglens.explain.results import AttributionMap, Explanation, LeadShare
from ecglens.record import STANDARD_LEADS

SEGMENTS = ("P wave", "PR segment", "QRS complex", "ST segment", "T wave", "between beats",
            "before QRS (P absent)")
NO_P = SEGMENTS[-1]
#: fallback windows around R (seconds) when a fiducial point is missing
_DEFAULT_S = {"p_on": -0.20, "p_off": -0.10, "qrs_on": -0.05, "qrs_off": 0.05, "t_off": 0.40}
MAP_FS = 25.0  # one bin per small (1 mm) box at 25 mm/s: as fine as the paper can show
_LEAD_GROUPS = {
    frozenset({"II", "III", "aVF"}): "inferior",
    frozenset({"I", "aVL", "V5", "V6"}): "lateral",
    frozenset({"I", "aVL"}): "high lateral",
    frozenset({"V5", "V6"}): "lateral",
    frozenset({"V1", "V2"}): "septal",
    frozenset({"V1", "V2", "V3"}): "anteroseptal",
    frozenset({"V1", "V2", "V3", "V4"}): "anteroseptal",
    frozenset({"V3", "V4"}): "anterior",
    frozenset({"V2", "V3", "V4"}): "anterior",
}


def beat_windows(fiducials: Mapping[str, int | None], median_r_index: int,
                 fs: float) -> dict[str, tuple[float, float]]:
    """Each part of the beat as (start, end) seconds relative to the R peak.

    Without a P wave (atrial fibrillation, or none found) the interval before the QRS is one
    window named for what it is: calling it "P wave" would explain an AF finding by a P wave
    the measurement said is not there.
    """
    rel = {k: (_DEFAULT_S[k] if (at := fiducials.get(k)) is None
               else (int(at) - median_r_index) / fs)
           for k in _DEFAULT_S}
    q_on, q_off, t_off = rel["qrs_on"], rel["qrs_off"], rel["t_off"]
    p_found = fiducials.get("p_on") is not None and fiducials.get("p_off") is not None
    # no P wave: the 150 ms before the QRS, where one would be (PR minus a short PR segment)
    p_on, p_off = (rel["p_on"], rel["p_off"]) if p_found else (q_on - 0.15, q_on)
    if not (p_on < p_off <= q_on < q_off < t_off):  # inconsistent delineation: use the defaults
        p_on, p_off, q_on, q_off, t_off = (_DEFAULT_S[k] for k in
                                           ("p_on", "p_off", "qrs_on", "qrs_off", "t_off"))
    # the ST segment ends where the T wave starts; without a T-onset point we take the first
    # third of J → T end, which matches the classic ST measurement points (J+60/80 ms)
    st_end = q_off + (t_off - q_off) / 3.0
    atrial = ({"P wave": (p_on, p_off), "PR segment": (p_off, q_on)} if p_found
              else {NO_P: (p_on, q_on)})
    return {**atrial, "QRS complex": (q_on, q_off), "ST segment": (q_off, st_end),
            "T wave": (st_end, t_off)}


def label_samples(n: int, fs: float, r_times_s: np.ndarray,
                  windows: Mapping[str, tuple[float, float]], start_s: float = 0.0) -> np.ndarray:
    """Index into SEGMENTS for each of ``n`` samples at ``fs`` (default: "between beats")."""
    labels = np.full(n, SEGMENTS.index("between beats"), dtype=np.int8)
    for r in np.asarray(r_times_s, dtype=float):
        for name, (a, b) in windows.items():
            i0 = max(int(np.floor((r + a - start_s) * fs)), 0)
            i1 = min(int(np.ceil((r + b - start_s) * fs)), n)
            if i1 > i0:
                labels[i0:i1] = SEGMENTS.index(name)
    return labels


def lead_ranges(leads: Sequence[str]) -> str:
    """'V2, V3, V4' → 'V2–V4'; runs follow the standard lead order; anatomical name if it fits."""
    order = [lead for lead in STANDARD_LEADS if lead in leads] + [
        lead for lead in leads if lead not in STANDARD_LEADS]
    parts: list[str] = []
    i = 0
    while i < len(order):
        j = i
        while (j + 1 < len(order) and order[j] in STANDARD_LEADS and order[j + 1] in STANDARD_LEADS
               and STANDARD_LEADS.index(order[j + 1]) == STANDARD_LEADS.index(order[j]) + 1):
            j += 1
        parts.append(order[i] if j == i else
                     f"{order[i]}, {order[j]}" if j == i + 1 else f"{order[i]}–{order[j]}")
        i = j + 1
    text = ", ".join(parts)
    group = _LEAD_GROUPS.get(frozenset(order))
    return f"{text} ({group})" if group else text


def _dominant_leads(per_lead: np.ndarray, leads: Sequence[str], *, max_leads: int = 4) -> list[str]:
    """The leads holding most of the evidence: at least half of the strongest lead's share."""
    if per_lead.max() <= 0:
        return []
    idx = np.argsort(-per_lead)[:max_leads]
    return [leads[i] for i in idx if per_lead[i] >= 0.5 * per_lead[idx[0]]]


def _bin(values: np.ndarray, fs: float, out_fs: float) -> np.ndarray:
    """Average-pool the time axis from ``fs`` to about ``out_fs`` bins per second."""
    k = max(round(fs / out_fs), 1)
    n = values.shape[-1] // k * k
    if n == 0:
        return values.copy()
    return values[..., :n].reshape(*values.shape[:-1], n // k, k).mean(axis=-1)


def _as_map(values: np.ndarray, leads: Sequence[str], fs: float, start_s: float) -> AttributionMap:
    peak = float(np.abs(values).max()) if values.size else 0.0
    scaled = values / peak if peak > 0 else values
    return AttributionMap(leads=list(leads), fs=fs, start_s=start_s,
                          values=np.round(scaled, 3).tolist())


def summarise(
    attribution: np.ndarray,
    *,
    leads: Sequence[str],
    fs: float,
    method: str,
    r_times_s: np.ndarray,
    fiducials: Mapping[str, int | None],
    median_r_index: int,
    median_fs: float,
    start_s: float = 0.0,
    map_fs: float = MAP_FS,
) -> Explanation:
    """Words, per-lead and per-segment shares, median-beat and downsampled maps of one finding.

    Args:
        attribution: leads × T at ``fs`` (the model's input grid), signed.
        r_times_s: R peaks in seconds from the start of the record.
        fiducials, median_r_index, median_fs: the measurement stage's median-beat delineation.
        start_s: time of the first attribution sample in the record.
    """
    a = np.asarray(attribution, dtype=np.float64)
    pos = np.clip(a, 0.0, None)
    total = float(pos.sum())
    per_lead = pos.sum(axis=1) / total if total > 0 else np.zeros(len(leads))
    shares = sorted((LeadShare(lead=lead, share=round(float(s), 4))
                     for lead, s in zip(leads, per_lead, strict=True)), key=lambda s: -s.share)

    windows = beat_windows(fiducials, median_r_index, median_fs)
    seg = label_samples(a.shape[1], fs, r_times_s, windows, start_s)
    seg_mass = np.array([pos[:, seg == k].sum() for k in range(len(SEGMENTS))])
    seg_share = seg_mass / total if total > 0 else np.zeros(len(SEGMENTS))

    phrases: list[str] = []
    if total <= 0:
        summary = "no part of the signal raised this finding's score"
    else:
        ranked = np.argsort(-seg_share)
        chosen = [k for k in ranked[:2] if seg_share[k] >= 0.2] or [int(ranked[0])]
        if len(r_times_s) == 0:
            chosen = []
        for k in chosen:
            in_seg = pos[:, seg == k].sum(axis=1)
            where = lead_ranges(_dominant_leads(in_seg, leads))
            phrases.append(f"{SEGMENTS[k]} in {where}" if where else SEGMENTS[k])
        if not phrases:
            phrases.append(f"mainly leads {lead_ranges(_dominant_leads(per_lead, leads))}")
        summary = "; ".join(phrases)

    median = None
    r_bin: int | None = None
    pre, post = 0.45, 0.75
    n_pre, n_post = round(pre * fs), round(post * fs)
    beats = [round((r - start_s) * fs) for r in r_times_s]
    beats = [b for b in beats if b - n_pre >= 0 and b + n_post <= a.shape[1]]
    if beats:
        stack = np.stack([a[:, b - n_pre:b + n_post] for b in beats])
        median = _as_map(_bin(stack.mean(axis=0), fs, map_fs * 2), leads,
                         fs / max(round(fs / (map_fs * 2)), 1), -pre)
        r_bin = round(pre * median.fs)
    binned = _bin(a, fs, map_fs)
    raw = _as_map(binned, leads, fs / max(round(fs / map_fs), 1), start_s)
    return Explanation(
        method=method, summary=summary, leads=shares,
        segments={name: round(float(s), 4)
                  for name, s in zip(SEGMENTS, seg_share, strict=True)},
        median_beat=median, median_r_index=r_bin, raw=raw,
        beat_parts={name: [round(a0, 3), round(a1, 3)] for name, (a0, a1) in windows.items()},
    )
