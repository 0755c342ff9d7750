"""``interpret(ecg)``: measure, check, predict, explain — one Interpretation.

Order matters: the abstention checks run before the network's output is turned into findings,
so a noisy or non-ECG input can never produce a confident diagnosis, whatever the network says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from ecglens.interpret.labels import priority_key, statement
from ecglens.interpret.predictor import PredictorLike, Scores, input_start_s, model_info, score
from ecglens.interpret.result import (
    Abstention,
    EcgAge,
    Finding,
    Interpretation,
    PatientInfo,
    RecordInfo,
)
from ecglens.measure.analysis import Analysis, analyze
from ecglens.measure.results import LeadReversal, Measurements
from ecglens.models.registry import DEFAULT_MODEL
from ecglens.record import ECG
from ecglens.signal.results import Quality

DEFAULT_TASK = "all"
#: A finding is called confident only when it is also more likely than not. The 95 %-specificity
#: thresholds of rare statements lie far below that (anterior MI: 0.07 on fold 9), and a
#: report that calls an 8 % probability "confident" misleads the reader.
MIN_CONFIDENT_P = 0.5
#: A network reading of atrial fibrillation or flutter at least this likely withholds the P wave
#: the measurement found. Chosen on PTB-XL fold 9 (ptbxl-fast): at 0.9 it withholds P/PR in 2 more
#: of the 151 AFIB records (144 in all) and in none of the 1,670 sinus-only ones; at 0.5 it also
#: took the PR of 2 sinus records, one of them a prolonged PR, which is worse than keeping it.
ATRIAL_WITHHOLDS_P = 0.9
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
    """
    analysis = _safe_analyze(ecg)
    hp = baseline_removed(ecg)
    reasons = lead_checks(ecg) + signal_checks(ecg, hp)
    if analysis is None:
        quality = Quality(verdict="unacceptable", reasons=["the record holds no samples"])
        measurements, reversal = Measurements(), LeadReversal()
        n_beats = 0
    else:
        quality, measurements = analysis.quality, analysis.measurements
        reversal, n_beats = analysis.lead_reversal, int(analysis.rpeaks.size)
    reasons += quality_checks(quality, n_beats)
    if predictor is None:
        reasons.append("no diagnostic model loaded: measurements only")
    result: dict[str, Any] = {
        "ecglens_version": __version__,
        "created": datetime.now(UTC),
        "record": _record_info(ecg, source, show_patient),
        "patient": _patient_info(ecg, show_patient),
        "quality": quality, "lead_reversal": reversal, "measurements": measurements,
    }
    if reasons or predictor is None or analysis is None:
        models = [model_info(predictor, task)] if predictor is not None else []
        return Interpretation(**result, abstention=Abstention(abstained=True, reasons=reasons),
                              models=models)

    ecg12 = ecg.to_standard_12()
    try:
        scores = score(predictor, ecg12, task,
                       keep_graph=method == "gradient_x_input" and explain != 0)
    except ECGSignalError as exc:  # the model refuses what it cannot read: say so, not crash
        return Interpretation(**result, abstention=Abstention(
            abstained=True, reasons=[f"the model cannot read this record: {exc}"]),
            models=[model_info(predictor, task)])
    caution = caution_checks(quality, beat_r2(ecg, analysis.rpeaks, hp))
    findings = []
    for code, (p, thr_f1, thr_spec) in scores.labels.items():
        if p < thr_f1:
            continue
        info = statement(code)
        findings.append(Finding(
            code=code, label=info.label, category=info.category, priority=info.priority,
            probability=round(p, 4), threshold=round(thr_f1, 4),
            threshold_high_specificity=None if thr_spec is None else round(thr_spec, 4),
            confident=not caution and thr_spec is not None and p >= max(thr_spec, MIN_CONFIDENT_P),
            snomed=info.snomed,
        ))
    findings.sort(key=lambda f: priority_key(f.code, f.probability))
    paced = _first_finding(findings, {"PACE"}, MIN_CONFIDENT_P)
    if paced is not None and reversal.suspected:
        # below 500 Hz pacing spikes are invisible to the measurement stage, so its reversal
        # models (fit on non-paced ECGs) judged this paced record: on PTB-XL fold 9 they flagged
        # 12 of 29 paced records. The network's pacemaker finding withdraws that verdict.
        result["lead_reversal"] = reversal.withdrawn(
            f"not assessed: the network finds a pacemaker rhythm (p={paced.probability:.2f}), "
            "and the reversal models were fit on non-paced ECGs")

    atrial = _first_finding(findings, {"AFIB", "AFLT"}, ATRIAL_WITHHOLDS_P)
    if atrial is not None and measurements.pr_ms is not None:
        # an atrial deflection locked to the QRS passed the measurement's P-wave test (coarse
        # fibrillatory or flutter waves can): the rhythm the network reads decides, as a cart's
        # rhythm statement does, and the values stay in the reason so nothing is hidden
        seen = ", ".join(f"{k} {v:g} ms" for k, v in (("P", measurements.p_duration_ms),
                                                        ("PR", measurements.pr_ms)) if v is not None)
        measurements = measurements.without_p(
            f"not reported: the network finds {atrial.label.lower()} (p={atrial.probability:.2f}), "
            f"so the atrial deflection measured before the QRS ({seen}) is not taken for a P wave")
        result["measurements"] = measurements

    # in a paced record a P wave hidden by an atrial spike is not evidence of its absence
    p_known = analysis.p_waves_present or not analysis.paced
    facts = RhythmFacts(rr_irregular=analysis.rr_irregular,
                        p_waves_present=analysis.p_waves_present if p_known else None,
                        sex=ecg.patient.sex)
    flags = check_consistency([f.code for f in findings], measurements, facts)
    by_code: dict[str, list[str]] = {}
    for flag in flags:
        by_code.setdefault(flag.finding, []).append(flag.message)
    findings = [f.model_copy(update={"consistency": by_code.get(f.code, [])}) for f in findings]

    n_explain = len(findings) if explain is None else max(min(explain, len(findings)), 0)
    if n_explain:
        findings[:n_explain] = _explain(predictor, ecg12, analysis, task, findings[:n_explain],
                                        method, scores, p_wave=measurements.p_duration_ms is not None)

    age = None
    if scores.age_years is not None:
        stated = ecg.patient.age_years
        age = EcgAge(predicted_years=round(scores.age_years, 1), stated_years=stated,
                     difference_years=None if stated is None
                     else round(scores.age_years - stated, 1))
    return Interpretation(**result, abstention=Abstention(caution=caution), findings=findings,
                          consistency=flags, ecg_age=age, models=[model_info(predictor, task)],
                          notes=scores.warnings)


def _first_finding(findings: list[Finding], codes: set[str], min_p: float) -> Finding | None:
    """The first (highest-priority) finding among codes at least min_p likely, if any."""
    return next((f for f in findings if f.code in codes and f.probability >= min_p), None)


def _explain(predictor: PredictorLike, ecg12: ECG, analysis: Analysis, task: str,
             findings: list[Finding], method: Method, scores: Scores, *,
             p_wave: bool) -> list[Finding]:
    labels = list(predictor.labels(task))
    targets = [labels.index(f.code) for f in findings]
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
    out = []
    for f, a in zip(findings, attr):
        exp = summarise(a, leads=list(predictor.leads), fs=float(predictor.fs), method=method,
                        r_times_s=r_times, fiducials=fiducials,
                        median_r_index=analysis.median_r_index, median_fs=ecg12.fs,
                        start_s=start_s)
        out.append(f.model_copy(update={"explanation": exp}))
    return out
