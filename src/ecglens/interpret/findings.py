"""From calibrated scores to findings: which statements are listed, which are confident, in
what order."""

from __future__ import annotations

from ecglens.interpret.labels import priority_key, statement
from ecglens.interpret.result import Finding
from ecglens.models.predictor import Scores

__all__ = ["MIN_CONFIDENT_P", "findings_from_scores", "first_finding"]

#: A finding is called confident only when it is also more likely than not. The 95 %-specificity
#: thresholds of rare statements lie far below that (anterior MI: 0.07 on fold 9), and a
#: report that calls an 8 % probability "confident" misleads the reader.
MIN_CONFIDENT_P = 0.5


def findings_from_scores(scores: Scores, *, caution: bool) -> list[Finding]:
    """Every statement at or above its F1-optimal threshold, in clinical priority order; with
    ``caution`` (a limited signal) none is marked confident."""
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
    findings.sort(key=lambda f: priority_key(f.code, f.probability or 0.0))
    return findings


def first_finding(findings: list[Finding], codes: set[str], min_p: float) -> Finding | None:
    """The first (highest-priority) finding among ``codes`` at least ``min_p`` likely, if any."""
    return next((f for f in findings if f.code in codes and (f.probability or 0.0) >= min_p),
                None)
