"""``interpret(ecg)``: measure, check, predict, explain — one Interpretation.

Order matters: the abstention checks run before the network's output is turned into findings,
so a noisy or non-ECG input can never produce a confident diagnosis, whatever the network says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ecglens import __version__
from ecglens.exceptions import ECGSignalError
from ecglens.explain.attribution import Method, attribute, gradient_x_input
from ecglens.explain.summary import summarise
from ecglens.interpret.abstain import (
    baseline_removed,
    beat_r2,
    caution_checks,
    lead_checks,
    quality_checks,
    signal_checks,
)
from ecglens.interpret.consistency import RhythmFacts, check_consistency
from ecglens.interpret.findings import findings_from_scores
from ecglens.interpret.predictor import PredictorLike, Scores, input_start_s, model_info, score
from ecglens.interpret.reconcile import reconcile
from ecglens.interpret.result import (
    Abstention,
    ConsistencyFlag,
    EcgAge,
    Finding,
    Interpretation,
    PatientInfo,
    RecordInfo,
)
from ecglens.interpret.statements import Evidence, Statements, build_statements
from ecglens.measure.analysis import Analysis, analyze
from ecglens.measure.results import MeasurementReport
from ecglens.models.registry import DEFAULT_MODEL
from ecglens.record import ECG
from ecglens.signal.results import Quality

DEFAULT_TASK = "all"
#: The model every command uses when none is named: ``ecglens.models.DEFAULT_MODEL`` (this
#: name is kept for the code that imports it from here). ``ptbxl-fast`` answers in tens of
#: milliseconds on one core: one resnet1d_wang member, calibrated on fold 9 on its own (fold-9
#: macro AUC 0.927 on the 71 statements against 0.934 for the nine-member ensemble with its
#: measurement-feature form model, at about a fifth of the cost).
DEFAULT_BUNDLE = DEFAULT_MODEL


def _record_info(ecg: ECG, source: str | Path | None, show_patient: bool) -> RecordInfo:
    return RecordInfo(
        file=Path(source).name if source is not None else None,
        format=ecg.source_format,
        leads=list(ecg.leads),
        sampling_rate_hz=ecg.fs,
        n_samples=ecg.n_samples,
        duration_s=round(ecg.duration_s, 6),
        acquisition_time=ecg.acquisition.time if show_patient else None,
        device=ecg.acquisition.device,
        device_statements=list(ecg.device.statements),
    )


def _patient_info(ecg: ECG, show_patient: bool) -> PatientInfo:
    p = ecg.patient
    sex = p.sex if p.sex in ("M", "F") else None
    if not show_patient:
        return PatientInfo(age_years=p.age_years, sex=sex)
    return PatientInfo(age_years=p.age_years, sex=sex, name=p.name, patient_id=p.patient_id,
                       birth_date=p.birth_date.isoformat() if p.birth_date else None,
                       deidentified=False)


def _safe_analyze(ecg: ECG) -> Analysis | None:
    try:
        return analyze(ecg)
    except ValueError:  # analyze raises only for records with no samples at all
        return None


def interpret(
    ecg: ECG,
    *,
    predictor: PredictorLike | None,
    source: str | Path | None = None,
    task: str = DEFAULT_TASK,
    explain: int | None = None,
    method: Method = "gradient_x_input",
    show_patient: bool = False,
    statement_engine: bool = True,
) -> Interpretation:
    """Interpret one ECG.

    Args:
        ecg: the record, as read by ``ecglens.io.read``.
        predictor: the diagnostic network (``ecglens.models.load_predictor()``); ``None`` gives
            measurements only, marked as abstained.
        source: the file the record came from; only its base name enters the result.
        task: the predictor's label set; the 71 PTB-XL statements by default.
        explain: explain the first ``explain`` findings (by clinical priority); ``None`` = all.
        method: attribution method for the explanations.
        show_patient: keep name, ID, birth date and acquisition time (PHI) in the result.
        statement_engine: ``False`` leaves the network's findings as they were before schema
            1.4 (no measurement statements, no summary): for before/after benchmarks only.
    """
    analysis = _safe_analyze(ecg)
    report = analysis.report() if analysis is not None else MeasurementReport(
        quality=Quality(verdict="unacceptable", reasons=["the record holds no samples"]))
    hp = baseline_removed(ecg)
    reasons = _gate(ecg, hp, analysis, report, predictor)
    scores = None
    if not reasons and predictor is not None:
        try:
            scores = score(predictor, ecg.to_standard_12(), task,
                           keep_graph=method == "gradient_x_input" and explain != 0)
        except ECGSignalError as exc:  # the model refuses what it cannot read: say so, not crash
            reasons = [f"the model cannot read this record: {exc}"]
    findings: list[Finding] = []
    flags: list[ConsistencyFlag] = []
    caution: list[str] = []
    said = Statements()
    if scores is not None and analysis is not None and predictor is not None:
        caution = caution_checks(report.quality, beat_r2(ecg, analysis.rpeaks, hp))
        findings = findings_from_scores(scores, caution=bool(caution))
        report = reconcile(findings, report)
        findings, flags = _check_consistency(findings, report, analysis, ecg)
        if statement_engine:
            said = build_statements(findings, Evidence.from_report(
                report, sex=ecg.patient.sex, rr_cv=analysis.rr_cv), caution=bool(caution))
            findings, flags = said.findings, flags + said.flags
        n_explain = len(findings) if explain is None else max(min(explain, len(findings)), 0)
        if n_explain:
            findings[:n_explain] = _explain(
                predictor, ecg.to_standard_12(), analysis, task, findings[:n_explain], method,
                scores, p_wave=report.measurements.p_duration_ms is not None)
    return Interpretation(
        ecglens_version=__version__,
        created=datetime.now(UTC),
        record=_record_info(ecg, source, show_patient),
        patient=_patient_info(ecg, show_patient),
        measurement=report,
        abstention=Abstention(abstained=bool(reasons), reasons=reasons, caution=caution),
        findings=findings,
        summary=said.summary,
        statements=said.lines,
        consistency=flags,
        ecg_age=_ecg_age(scores, ecg),
        models=[model_info(predictor, task)] if predictor is not None else [],
        notes=scores.warnings if scores is not None else [],
    )


def _gate(ecg: ECG, hp: np.ndarray, analysis: Analysis | None, report: MeasurementReport,
          predictor: PredictorLike | None) -> list[str]:
    """Why no diagnosis should be read from this ECG (empty: go on to the network)."""
    reasons = lead_checks(ecg) + signal_checks(ecg, hp)
    reasons += quality_checks(report.quality, 0 if analysis is None else int(analysis.rpeaks.size))
    if predictor is None:
        reasons.append("no diagnostic model loaded: measurements only")
    return reasons


def _check_consistency(findings: list[Finding], report: MeasurementReport, analysis: Analysis,
                       ecg: ECG) -> tuple[list[Finding], list[ConsistencyFlag]]:
    """Each finding checked against the measurements; the flags also travel on the findings."""
    # in a paced record a P wave hidden by an atrial spike is not evidence of its absence
    p_known = analysis.p_waves_present or not analysis.paced
    facts = RhythmFacts(rr_irregular=analysis.rr_irregular,
                        p_waves_present=analysis.p_waves_present if p_known else None,
                        sex=ecg.patient.sex)
    flags = check_consistency([f.code for f in findings], report.measurements, facts)
    by_code: dict[str, list[str]] = {}
    for flag in flags:
        by_code.setdefault(flag.finding, []).append(flag.message)
    return [f.model_copy(update={"consistency": by_code.get(f.code, [])}) for f in findings], flags


def _ecg_age(scores: Scores | None, ecg: ECG) -> EcgAge | None:
    if scores is None or scores.age_years is None:
        return None
    stated = ecg.patient.age_years
    return EcgAge(predicted_years=round(scores.age_years, 1), stated_years=stated,
                  difference_years=None if stated is None else round(scores.age_years - stated, 1))


def _explain(predictor: PredictorLike, ecg12: ECG, analysis: Analysis, task: str,
             findings: list[Finding], method: Method, scores: Scores, *,
             p_wave: bool) -> list[Finding]:
    labels = list(predictor.labels(task))
    # statements made from the measurements alone (LAD, RAD, ...) have no logit to explain
    explained = [f for f in findings if f.code in labels]
    if not explained:
        return findings
    targets = [labels.index(f.code) for f in explained]
    if method == "gradient_x_input" and scores.x is not None and scores.logits is not None:
        attr = gradient_x_input(scores.x, scores.logits, targets)  # reuses the scoring pass
    else:
        attr = attribute(lambda b: predictor.logits(b, task), predictor.preprocess(ecg12),
                         targets, method=method)
    r_times = np.asarray(analysis.rpeaks, dtype=float) / ecg12.fs
    start_s = input_start_s(predictor, ecg12)
    fiducials = dict(analysis.fiducials)
    if not p_wave:  # withheld (AF read by the network) or not found: no "P wave" to point at
        fiducials.update(p_on=None, p_off=None)
    done: dict[int, Finding] = {}
    for f, a in zip(explained, attr, strict=True):
        exp = summarise(a, leads=list(predictor.leads), fs=float(predictor.fs), method=method,
                        r_times_s=r_times, fiducials=fiducials,
                        median_r_index=analysis.median_r_index, median_fs=ecg12.fs,
                        start_s=start_s)
        done[id(f)] = f.model_copy(update={"explanation": exp})
    return [done.get(id(f), f) for f in findings]
