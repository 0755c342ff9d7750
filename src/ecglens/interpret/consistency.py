"""Checks between what the network says and what was measured on the signal.

A network can report complete LBBB on a 90 ms QRS; a cart's rule-based program cannot. Rather
than silently dropping either side, every disagreement is flagged in the result (and printed on
the report) so that the reader sees both. Thresholds are the textbook criteria (AHA/ACCF/HRS
2009 recommendations for the standardisation and interpretation of the ECG, parts III–V).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from ecglens.interpret.labels import statement
from ecglens.interpret.result import ConsistencyFlag
from ecglens.measure.results import Measurements


@dataclass(frozen=True)
class RhythmFacts:
    """What the measurement stage found about rhythm, beyond the numbers."""

    rr_irregular: bool | None = None
    p_waves_present: bool | None = None
    sex: str | None = None


# code -> (requirement in words, test returning (ok, observed) or None when not measurable)
Check = Callable[[Measurements, RhythmFacts], "tuple[bool, str] | None"]


def _qrs_at_least(ms: float) -> Check:
    return lambda m, _: None if m.qrs_ms is None else (m.qrs_ms >= ms, f"QRS {m.qrs_ms:.0f} ms")


def _pr_above(ms: float) -> Check:
    return lambda m, _: None if m.pr_ms is None else (m.pr_ms > ms, f"PR {m.pr_ms:.0f} ms")


def _af(m: Measurements, r: RhythmFacts) -> tuple[bool, str] | None:
    if r.rr_irregular is None or r.p_waves_present is None:
        return None
    ok = r.rr_irregular and not r.p_waves_present
    rr = "irregular" if r.rr_irregular else "regular"
    p = "P waves found" if r.p_waves_present else "no P waves"
    return ok, f"{rr} RR, {p}"


def _sinus(m: Measurements, r: RhythmFacts) -> tuple[bool, str] | None:
    if r.p_waves_present is None:
        return None
    return r.p_waves_present, "P waves found" if r.p_waves_present else "no P waves found"


def _rate(lo: float | None, hi: float | None) -> Check:
    def check(m: Measurements, _: RhythmFacts) -> tuple[bool, str] | None:
        if m.heart_rate_bpm is None:
            return None
        hr = m.heart_rate_bpm
        ok = (lo is None or hr >= lo) and (hi is None or hr <= hi)
        return ok, f"heart rate {hr:.0f} bpm"
    return check


def _axis(lo: float | None, hi: float | None) -> Check:
    def check(m: Measurements, _: RhythmFacts) -> tuple[bool, str] | None:
        if m.qrs_axis_deg is None:
            return None
        a = m.qrs_axis_deg
        ok = (lo is None or a >= lo) and (hi is None or a <= hi)
        return ok, f"QRS axis {a:.0f}°"
    return check


def _long_qt(m: Measurements, r: RhythmFacts) -> tuple[bool, str] | None:
    if m.qtc_bazett_ms is None:
        return None
    limit = 460.0 if r.sex == "F" else 450.0
    return m.qtc_bazett_ms > limit - 10.0, f"QTc (Bazett) {m.qtc_bazett_ms:.0f} ms"


def _normal(m: Measurements, r: RhythmFacts) -> tuple[bool, str] | None:
    bad = []
    if m.qrs_ms is not None and m.qrs_ms >= 120:
        bad.append(f"QRS {m.qrs_ms:.0f} ms")
    if m.pr_ms is not None and m.pr_ms > 220:
        bad.append(f"PR {m.pr_ms:.0f} ms")
    if m.heart_rate_bpm is not None and not 45 <= m.heart_rate_bpm <= 110:
        bad.append(f"heart rate {m.heart_rate_bpm:.0f} bpm")
    if r.rr_irregular:
        bad.append("irregular RR")
    if m.qrs_ms is None and m.pr_ms is None and m.heart_rate_bpm is None:
        return None
    return (not bad), ", ".join(bad) or "within normal limits"


#: finding -> (what it requires, check)
FINDING_CHECKS: dict[str, tuple[str, Check]] = {
    "CLBBB": ("QRS duration ≥ 120 ms", _qrs_at_least(120)),
    "CRBBB": ("QRS duration ≥ 120 ms", _qrs_at_least(120)),
    "1AVB": ("PR interval > 200 ms", _pr_above(200)),
    "LPR": ("PR interval > 200 ms", _pr_above(200)),
    "AFIB": ("irregular RR intervals and no P waves", _af),
    "SR": ("P waves before the QRS", _sinus),
    "STACH": ("heart rate ≥ 100 bpm", _rate(100, None)),
    "SBRAD": ("heart rate ≤ 60 bpm", _rate(None, 60)),
    "LAFB": ("QRS axis ≤ −30°", _axis(None, -30)),
    "LPFB": ("QRS axis ≥ +90°", _axis(90, None)),
    "LNGQT": ("prolonged QTc", _long_qt),
    "NORM": ("normal intervals, rate and rhythm", _normal),
}

#: measured abnormality -> findings, any of which would explain it
_WIDE_QRS_EXPLAINED = {"CLBBB", "CRBBB", "IVCD", "WPW", "PACE", "ILBBB", "LAFB", "LPFB"}
_LONG_PR_EXPLAINED = {"1AVB", "LPR", "2AVB", "3AVB", "AFIB", "AFLT"}


def check_consistency(codes: Collection[str], m: Measurements,
                      facts: RhythmFacts) -> list[ConsistencyFlag]:
    """Flags for findings that their measurements contradict, and for clear measured
    abnormalities that no reported finding accounts for."""
    flags: list[ConsistencyFlag] = []
    for code in codes:
        if code not in FINDING_CHECKS:
            continue
        need, test = FINDING_CHECKS[code]
        res = test(m, facts)
        if res is None or res[0]:
            continue
        label = statement(code).label
        flags.append(ConsistencyFlag(
            finding=code, check=need, observed=res[1],
            message=f"{label} reported, but {res[1]} (requires {need})"))
    if m.qrs_ms is not None and m.qrs_ms >= 130 and not _WIDE_QRS_EXPLAINED & set(codes):
        flags.append(ConsistencyFlag(
            finding="", check="a conduction finding for QRS ≥ 120 ms",
            observed=f"QRS {m.qrs_ms:.0f} ms",
            message=f"QRS measured {m.qrs_ms:.0f} ms but no conduction disturbance reported"))
    if m.pr_ms is not None and m.pr_ms > 230 and not _LONG_PR_EXPLAINED & set(codes):
        flags.append(ConsistencyFlag(
            finding="", check="an AV-conduction finding for PR > 200 ms",
            observed=f"PR {m.pr_ms:.0f} ms",
            message=f"PR measured {m.pr_ms:.0f} ms but no AV block reported"))
    return flags
