"""Hand-built Interpretation objects for the report tests (the renderers must not depend on a
particular model's output); measurements and quality come from the real measurement stage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ecglens.explain.summary import summarise
from ecglens.interpret.consistency import RhythmFacts, check_consistency
from ecglens.interpret.labels import statement
from ecglens.interpret.result import (
    Abstention,
    EcgAge,
    Finding,
    Interpretation,
    ModelInfo,
    PatientInfo,
    RecordInfo,
)
from ecglens.io import read
from ecglens.measure.analysis import analyze
from ecglens.record import ECG

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "ecglens" / "examples" / "E07500.hea"


def st_attribution(ecg: ECG, leads: tuple[str, ...],
                   fs: float = 100.0) -> tuple[np.ndarray, object]:
    """Positive attribution 120–200 ms after every R peak in ``leads``: the ST segment."""
    a = analyze(ecg)
    n = int(ecg.duration_s * fs)
    attr = np.zeros((12, n))
    for r in a.rpeaks / ecg.fs:
        i0, i1 = int((r + 0.12) * fs), int((r + 0.20) * fs)
        for lead in leads:
            attr[ecg.leads.index(lead), i0:i1] = 1.0
    return attr, a


def example_interpretation(ecg: ECG, *, codes: tuple[str, ...] = ("CLBBB", "SR"),
                           abstained: bool = False) -> Interpretation:
    attr, a = st_attribution(ecg, ("V2", "V3", "V4"))
    exp = summarise(attr, leads=list(ecg.leads), fs=100.0, method="integrated_gradients",
                    r_times_s=a.rpeaks / ecg.fs, fiducials=a.fiducials,
                    median_r_index=a.median_r_index, median_fs=ecg.fs)
    findings = []
    for i, code in enumerate(codes):
        info = statement(code)
        findings.append(Finding(code=code, label=info.label, category=info.category,
                                priority=info.priority, probability=0.9 - 0.1 * i,
                                threshold=0.4, threshold_high_specificity=0.7, confident=True,
                                snomed=info.snomed, explanation=exp))
    flags = check_consistency(codes, a.measurements,
                              RhythmFacts(a.rr_irregular, a.p_waves_present, "M"))
    msgs = {f.finding: [f.message] for f in flags}
    findings = [f.model_copy(update={"consistency": msgs.get(f.code, [])}) for f in findings]
    return Interpretation(
        ecglens_version="test", created=datetime.now(UTC),
        record=RecordInfo(file=EXAMPLE.name, format=ecg.source_format, leads=list(ecg.leads),
                          sampling_rate_hz=ecg.fs, n_samples=ecg.n_samples,
                          duration_s=ecg.duration_s),
        patient=PatientInfo(age_years=ecg.patient.age_years, sex=ecg.patient.sex),
        measurement=a.report(),
        abstention=Abstention(abstained=abstained, reasons=["test reason"] if abstained else []),
        findings=[] if abstained else findings, consistency=[] if abstained else flags,
        ecg_age=EcgAge(predicted_years=70.0, stated_years=78.0, difference_years=-8.0),
        models=[ModelInfo(name="test-model", version="0", sha256="0" * 64, task="all",
                          sampling_rate_hz=100.0, leads=list(ecg.leads))],
    )


def example_ecg() -> ECG:
    return read(EXAMPLE)
