"""Rhythm rules of the statement engine: exactly one primary rhythm statement, then ectopy.

A cart's statement program (GE 12SL, Philips DXL, Glasgow) names the rhythm from the
measurements: P waves before every QRS and a regular rate make a sinus rhythm, named by the
rate. The network reads the rhythm too, and reads atrial fibrillation, flutter and pacing
better than a 100 Hz delineation can. The policy, rule by rule (each in the function below):

1. **paced** — pacing spikes measured, or the network's pacemaker rhythm at p ≥ 0.5;
2. **atrial fibrillation / flutter** — the network at p ≥ 0.5 *and* the measurement agrees
   (irregular RR or no P wave), or the network alone at p ≥ ``ATRIAL_NETWORK_ALONE``; the
   disagreement is then flagged;
3. **supraventricular tachycardia** — the network at p ≥ 0.5 and a measured rate > 100 bpm;
4. **sinus** — P waves measured, or the network reads a sinus rhythm at p ≥ 0.5 (the 100 Hz
   P-wave test misses low P waves); named by the *measured* rate: bradycardia < 50 bpm, or
   < 60 bpm where the network favours bradycardia over sinus rhythm; tachycardia > 105 bpm, or
   > 100 bpm where it favours tachycardia (``BRADY_SURE_BPM``); otherwise sinus arrhythmia when
   the RR intervals vary (coefficient of variation ≥ ``SARRH_RR_CV``) without ectopic beats,
   otherwise sinus rhythm;
5. otherwise **rhythm undetermined** (ecglens code ``RHYUND``), with what the network said.

The primary rhythm is always a headline statement: it is the rule's decision, not a
probability. Every network rhythm statement the rule overrules becomes a consistency flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecglens.interpret.labels import statement
from ecglens.interpret.result import ConsistencyFlag, Finding, Source
from ecglens.measure.results import MeasurementReport

__all__ = ["ATRIAL_NETWORK_ALONE", "RHYTHM_CODES", "SARRH_RR_CV", "Evidence", "make",
           "primary_rhythm"]

#: the rhythm statements among the 71 (one primary rhythm is chosen among them)
PRIMARY_CODES = ("PACE", "AFIB", "AFLT", "SVTAC", "PSVT", "STACH", "SBRAD", "SARRH", "SR")
SINUS_CODES = ("SR", "SBRAD", "STACH", "SARRH")
#: ectopy and patterns, stated after the primary rhythm
ECTOPY_CODES = ("BIGU", "TRIGU", "PVC", "PAC", "PRC(S)", "SVARR")
RHYTHM_CODES = frozenset(PRIMARY_CODES + ECTOPY_CODES + ("RHYUND",))
#: a network reading of AF/flutter at least this likely is stated even where the measurement
#: sees a regular rhythm with P waves (coarse fibrillatory waves pass the P test)
ATRIAL_NETWORK_ALONE = 0.9
#: likely enough for the network to decide a rhythm on its own
NETWORK_LIKELY = 0.5
#: rate limits for sinus bradycardia / tachycardia (bpm): below ``BRADY_SURE_BPM`` (the
#: 2018 ACC/AHA/HRS bradycardia guideline's < 50 bpm) and above ``TACHY_SURE_BPM`` the measured
#: rate decides alone; between them and the textbook 60 / 100 bpm the network's reading of
#: the record (its SBRAD/STACH probability against its SR probability) decides. On PTB-XL
#: fold 9 the cardiologists coded sinus rhythm on 5 % of records at < 55 bpm measured: 60 bpm
#: alone called 301 of 362 sinus bradycardias wrongly (docs/interpretation.md)
BRADY_BPM, TACHY_BPM = 60.0, 100.0
BRADY_SURE_BPM, TACHY_SURE_BPM = 50.0, 105.0
#: RR coefficient of variation from which a sinus rhythm with no ectopic beats is called
#: sinus arrhythmia (chosen on PTB-XL fold 9, see docs/interpretation.md)
SARRH_RR_CV = 0.08


@dataclass(frozen=True)
class Evidence:
    """What the measurement stage says, as the statement rules read it."""

    heart_rate_bpm: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qtc_ms: float | None = None  # Fridericia (less rate-dependent than Bazett)
    qrs_axis_deg: float | None = None
    rr_irregular: bool | None = None
    p_waves_present: bool | None = None
    paced: bool = False
    premature_v: int = 0
    premature_sv: int = 0
    rr_cv: float | None = None  # standard deviation / mean of the RR intervals
    sex: str | None = None

    @classmethod
    def from_report(cls, report: MeasurementReport, *, sex: str | None,
                    rr_cv: float | None = None) -> Evidence:
        m, b = report.measurements, report.beats
        measured = b.n > 0
        return cls(heart_rate_bpm=m.heart_rate_bpm, pr_ms=m.pr_ms, qrs_ms=m.qrs_ms,
                   qtc_ms=m.qtc_fridericia_ms, qrs_axis_deg=m.qrs_axis_deg,
                   rr_irregular=b.rr_irregular if measured else None,
                   # P withheld by the reconciliation (network AF/flutter) counts as absent
                   p_waves_present=(b.p_waves_present and m.pr_ms is not None) if measured
                   else None,
                   paced=report.pacing.paced, premature_v=b.premature_ventricular,
                   premature_sv=b.premature_supraventricular, rr_cv=rr_cv, sex=sex)


def make(code: str, source: Source, net: Finding | None = None, *,
         confident: bool = True) -> Finding:
    """A statement: the network's finding re-sourced, or a new one made from a measurement."""
    if net is not None and source != "measurement":
        return net.model_copy(update={"source": source, "confident": confident})
    info = statement(code)  # no network probability for this code: none is shown
    return Finding(code=code, label=info.label, category=info.category, priority=info.priority,
                   confident=confident, source=source, snomed=info.snomed)


def _p(net: dict[str, Finding], code: str) -> float:
    f = net.get(code)
    return 0.0 if f is None or f.probability is None else f.probability


def _flag(code: str, net: dict[str, Finding], check: str, observed: str,
          stated: str) -> ConsistencyFlag:
    label = statement(code).label
    return ConsistencyFlag(finding=code, check=check, observed=observed,
                           message=f"{label} read by the network (p={_p(net, code):.2f}), "
                                   f"not stated: {observed}; stated instead: {stated}")


def _sinus_by_rate(ev: Evidence, net: dict[str, Finding]) -> str:
    hr = ev.heart_rate_bpm
    if hr is None:  # no rate measured: the network's most likely sinus statement
        return max(SINUS_CODES, key=lambda c: _p(net, c))
    if hr < BRADY_SURE_BPM or (hr < BRADY_BPM and _p(net, "SBRAD") >= _p(net, "SR")):
        return "SBRAD"
    if hr > TACHY_SURE_BPM or (hr > TACHY_BPM and _p(net, "STACH") >= _p(net, "SR")):
        return "STACH"
    ectopic = ev.premature_v + ev.premature_sv
    if ev.rr_cv is not None and ev.rr_cv >= SARRH_RR_CV and ectopic == 0:
        return "SARRH"
    return "SR"


def _observed(ev: Evidence) -> str:
    parts = []
    if ev.heart_rate_bpm is not None:
        parts.append(f"rate {ev.heart_rate_bpm:.0f} bpm")
    if ev.rr_irregular is not None:
        parts.append("irregular RR" if ev.rr_irregular else "regular RR")
    if ev.p_waves_present is not None:
        parts.append("P waves found" if ev.p_waves_present else "no P waves")
    if ev.paced:
        parts.append("pacing spikes")
    return ", ".join(parts) or "no rhythm measurement"


def primary_rhythm(net: dict[str, Finding], ev: Evidence
                   ) -> tuple[Finding, list[ConsistencyFlag]]:
    """The one primary rhythm statement, and flags for the network rhythms it overrules."""
    code, source = _decide(net, ev)
    stmt = make(code, source, net.get(code))
    flags = [_flag(c, net, "the primary rhythm rule", _observed(ev), stmt.label)
             for c in PRIMARY_CODES
             if c != code and c in net and net[c].confident]
    return stmt, flags


def _decide(net: dict[str, Finding], ev: Evidence) -> tuple[str, Source]:
    if ev.paced or _p(net, "PACE") >= NETWORK_LIKELY:  # rule 1
        both = ev.paced and "PACE" in net
        return "PACE", "both" if both else "measurement" if ev.paced else "network"
    atrial = max(("AFIB", "AFLT"), key=lambda c: _p(net, c))  # rule 2
    pa = _p(net, atrial)
    agrees = bool(ev.rr_irregular) or ev.p_waves_present is False
    if pa >= NETWORK_LIKELY and agrees:
        return atrial, "both"
    if pa >= ATRIAL_NETWORK_ALONE:
        return atrial, "network"
    svt = max(("SVTAC", "PSVT"), key=lambda c: _p(net, c))  # rule 3
    if _p(net, svt) >= NETWORK_LIKELY and (ev.heart_rate_bpm or 0.0) > TACHY_BPM:
        return svt, "both"
    sinus_net = max(_p(net, c) for c in SINUS_CODES)  # rule 4
    if ev.p_waves_present or sinus_net >= NETWORK_LIKELY:
        code = _sinus_by_rate(ev, net)
        if not ev.p_waves_present:  # sinus from the network, named by the measured rate
            return code, "both" if ev.heart_rate_bpm is not None else "network"
        return code, "both" if code in net else "measurement"
    return "RHYUND", "measurement"  # rule 5
