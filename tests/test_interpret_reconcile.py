"""The clinical rules where a confident network reading corrects a measurement verdict
(ecglens.interpret.reconcile), on hand-built findings and reports; the same rules on real
PTB-XL records are in test_interpret_checks.py."""

from __future__ import annotations

import pytest

from ecglens.interpret.labels import statement
from ecglens.interpret.reconcile import ATRIAL_WITHHOLDS_P, reconcile
from ecglens.interpret.result import Finding
from ecglens.measure.results import LeadReversal, MeasurementReport, Measurements
from ecglens.signal.results import Quality


def _finding(code: str, p: float) -> Finding:
    info = statement(code)
    return Finding(code=code, label=info.label, category=info.category, priority=info.priority,
                   probability=p, threshold=0.1, confident=p >= 0.5)


def _report(*, pr: float | None = 160.0, swap: str | None = None) -> MeasurementReport:
    return MeasurementReport(
        quality=Quality(verdict="acceptable"),
        measurements=Measurements(heart_rate_bpm=72.0, p_duration_ms=None if pr is None else 100.0,
                                  pr_ms=pr, p_axis_deg=None if pr is None else 50.0, qrs_ms=96.0),
        lead_reversal=LeadReversal(suspected=swap, confidence=0.9 if swap else 0.0,
                                   scores={"LA/RA": 0.9 if swap else 0.1}))


@pytest.mark.parametrize(("p", "withheld"), [(ATRIAL_WITHHOLDS_P, True), (0.95, True),
                                             (ATRIAL_WITHHOLDS_P - 0.01, False)])
@pytest.mark.parametrize("code", ["AFIB", "AFLT"])
def test_a_likely_atrial_arrhythmia_withholds_p_pr_and_p_axis(code: str, p: float,
                                                              withheld: bool) -> None:
    out = reconcile([_finding("SR", 0.2), _finding(code, p)], _report())
    m = out.measurements
    if withheld:
        assert (m.p_duration_ms, m.pr_ms, m.p_axis_deg) == (None, None, None)
        assert "P 100 ms, PR 160 ms" in m.not_measured["pr_ms"]  # the values stay in the reason
        assert m.qrs_ms == 96.0 and m.heart_rate_bpm == 72.0
    else:
        assert m.pr_ms == 160.0


def test_without_a_measured_pr_the_atrial_rule_changes_nothing() -> None:
    report = _report(pr=None)
    assert reconcile([_finding("AFIB", 0.99)], report) == report


@pytest.mark.parametrize(("p", "withdrawn"), [(0.5, True), (0.49, False)])
def test_a_likely_pacemaker_rhythm_withdraws_a_reversal_verdict(p: float, withdrawn: bool) -> None:
    out = reconcile([_finding("PACE", p)], _report(swap="LA/RA")).lead_reversal
    if withdrawn:
        assert out.suspected is None and "pacemaker" in (out.not_assessed or "")
        assert out.scores == {"LA/RA": 0.9}  # the scores are still shown
    else:
        assert out.suspected == "LA/RA"


def test_no_rule_applies_without_the_findings() -> None:
    report = _report(swap="LA/RA")
    assert reconcile([_finding("SR", 0.9), _finding("NORM", 0.8)], report) == report
