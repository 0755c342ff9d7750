"""Clinical policy where the network and the measurement stage disagree about the rhythm.

The measurement stage works on the signal alone; some of its verdicts depend on what the
rhythm is, which the network reads better. Each rule here lets a confident network reading
correct one measurement verdict, keeping the original values in the reason so nothing is hidden.
"""

from __future__ import annotations

from ecglens.interpret.findings import MIN_CONFIDENT_P, first_finding
from ecglens.interpret.result import Finding
from ecglens.measure.results import MeasurementReport

__all__ = ["ATRIAL_WITHHOLDS_P", "reconcile"]

#: A network reading of atrial fibrillation or flutter at least this likely withholds the P wave
#: the measurement found. Chosen on PTB-XL fold 9 (ptbxl-fast): at 0.9 it withholds P/PR in 2 more
#: of the 151 AFIB records (144 in all) and in none of the 1,670 sinus-only ones; at 0.5 it also
#: took the PR of 2 sinus records, one of them a prolonged PR, which is worse than keeping it.
ATRIAL_WITHHOLDS_P = 0.9


def reconcile(findings: list[Finding], report: MeasurementReport) -> MeasurementReport:
    """The measurement report as the findings correct it (unchanged when no rule applies)."""
    return _atrial_rhythm_withholds_p(findings, _pacing_withdraws_reversal(findings, report))


def _pacing_withdraws_reversal(findings: list[Finding], report: MeasurementReport
                               ) -> MeasurementReport:
    # below 500 Hz pacing spikes are invisible to the measurement stage, so its reversal models
    # (fit on non-paced ECGs) judged this paced record: on PTB-XL fold 9 they flagged 12 of 29
    # paced records. The network's pacemaker finding withdraws that verdict.
    paced = first_finding(findings, {"PACE"}, MIN_CONFIDENT_P)
    if paced is None or not report.lead_reversal.suspected:
        return report
    return report.model_copy(update={"lead_reversal": report.lead_reversal.withdrawn(
        f"not assessed: the network finds a pacemaker rhythm (p={paced.probability:.2f}), "
        "and the reversal models were fit on non-paced ECGs")})


def _atrial_rhythm_withholds_p(findings: list[Finding], report: MeasurementReport
                               ) -> MeasurementReport:
    # an atrial deflection locked to the QRS passed the measurement's P-wave test (coarse
    # fibrillatory or flutter waves can): the rhythm the network reads decides, as a cart's
    # rhythm statement does, and the values stay in the reason so nothing is hidden
    atrial = first_finding(findings, {"AFIB", "AFLT"}, ATRIAL_WITHHOLDS_P)
    m = report.measurements
    if atrial is None or m.pr_ms is None:
        return report
    seen = ", ".join(f"{k} {v:g} ms" for k, v in (("P", m.p_duration_ms), ("PR", m.pr_ms))
                     if v is not None)
    return report.model_copy(update={"measurements": m.without_p(
        f"not reported: the network finds {atrial.label.lower()} (p={atrial.probability:.2f}), "
        f"so the atrial deflection measured before the QRS ({seen}) is not taken for a P wave")})
