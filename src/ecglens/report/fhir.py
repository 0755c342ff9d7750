"""FHIR export: one Bundle holding a DiagnosticReport and its Observations.

Built and validated with ``fhir.resources``' R4B models (FHIR 4.3, which keeps R4's
DiagnosticReport and Observation unchanged, so R4 servers accept the resources). Measurements
carry LOINC codes and UCUM units; findings carry SNOMED CT where the statement has a
well-established concept and always the SCP-ECG statement code. The report is ``preliminary``:
a computer interpretation that a physician has not confirmed. No patient identity is written;
``subject`` is left for the receiving system to fill.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from ecglens.interpret.result import Finding, Interpretation

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
#: SCP-ECG statement codes as used by PTB-XL; no canonical FHIR URI exists, so we name ours
SCP_SYSTEM = "https://ecglens.org/fhir/CodeSystem/scp-ecg-statement"
ECGLENS_SYSTEM = "https://ecglens.org/fhir/CodeSystem/ecglens"

#: Measurements field → (LOINC code, display, UCUM unit, unit text)
MEASUREMENT_LOINC: dict[str, tuple[str, str, str, str]] = {
    "heart_rate_bpm": ("8867-4", "Heart rate", "/min", "beats/minute"),
    "pr_ms": ("8625-6", "P-R Interval", "ms", "ms"),
    "qrs_ms": ("8633-0", "QRS duration", "ms", "ms"),
    "qt_ms": ("8634-8", "Q-T interval", "ms", "ms"),
    "qtc_bazett_ms": ("8636-3", "Q-T interval corrected", "ms", "ms"),
    "p_axis_deg": ("8626-4", "P wave axis", "deg", "degrees"),
    "qrs_axis_deg": ("8632-2", "QRS axis", "deg", "degrees"),
    "t_axis_deg": ("8638-1", "T wave axis", "deg", "degrees"),
}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _finding_codings(f: Finding) -> list[dict[str, Any]]:
    codings = [{"system": SCP_SYSTEM, "code": f.code, "display": f.label}]
    if f.snomed:
        codings.insert(0, {"system": SNOMED, "code": f.snomed, "display": f.label})
    return codings


def _measurement_observations(interp: Interpretation,
                              common: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    m = interp.measurements
    for field, (code, display, unit, unit_text) in MEASUREMENT_LOINC.items():
        value = getattr(m, field)
        if value is None:
            continue
        obs = {
            **common,
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}],
                     "text": display},
            "valueQuantity": {"value": round(float(value), 1), "unit": unit_text,
                              "system": UCUM, "code": unit},
        }
        if field == "qtc_bazett_ms":
            obs["method"] = {"text": "Bazett"}
        out.append(obs)
    return out


def _finding_observation(f: Finding, common: dict[str, Any], model: str) -> dict[str, Any]:
    if f.probability is None or f.threshold is None:
        note = "from the measurements"
    else:
        note = f"calibrated probability {f.probability:.3f}, reported above {f.threshold:.3f}"
    note += f"; source: {f.source}"
    if f.explanation is not None:
        note += f"; evidence: {f.explanation.summary}"
    obs: dict[str, Any] = {
        **common,
        "code": {"coding": _finding_codings(f), "text": f.label},
        "interpretation": [{"text": "confident" if f.confident else "possible"}],
        "method": {"text": model},
        "note": [{"text": note}],
    }
    if f.probability is not None:
        obs["valueQuantity"] = {"value": round(f.probability, 4), "unit": "probability",
                                "system": UCUM, "code": "1"}
    else:  # a statement made from the measurements: present, no probability
        obs["valueBoolean"] = True
    if f.consistency:
        obs["note"].append({"text": "Consistency check: " + "; ".join(f.consistency)})
    return obs


def build_bundle(interp: Interpretation) -> Bundle:
    """The interpretation as a FHIR collection Bundle (validated by the library's models)."""
    issued = interp.created.isoformat()
    common: dict[str, Any] = {"resourceType": "Observation", "status": "preliminary",
                              "category": [{"coding": [{
                                  "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "procedure", "display": "Procedure"}]}],
                              "issued": issued}
    if interp.record.acquisition_time is not None:
        common["effectiveDateTime"] = interp.record.acquisition_time.isoformat()
    model = "; ".join(f"ecglens {m.name} {m.version} (sha256 {m.sha256[:16]})"
                      for m in interp.models) or f"ecglens {interp.ecglens_version}"
    observations = _measurement_observations(interp, common)
    if not interp.abstention.abstained:
        observations += [_finding_observation(f, common, model) for f in interp.findings]
    if interp.ecg_age is not None and not interp.abstention.abstained:
        observations.append({**common, "code": {"text": "ECG-age (deep-learning estimate)"},
                             "valueQuantity": {"value": round(interp.ecg_age.predicted_years, 1),
                                               "unit": "years", "system": UCUM, "code": "a"},
                             "method": {"text": model}})
    urls = [_urn() for _ in observations]
    if interp.abstention.abstained:
        conclusion = ("No automated interpretation: " + "; ".join(interp.abstention.reasons)
                      + ". Review the tracing manually.")
    else:
        conclusion = "; ".join(
            f.label if f.probability is None else f"{f.label} ({f.probability:.2f})"
            for f in interp.findings) or "No finding above threshold"
        if interp.summary is not None:
            conclusion += f". {interp.summary.capitalize()} ECG"
    flags = [c.message for c in interp.consistency] + list(interp.abstention.caution)
    if interp.lead_reversal.suspected:
        flags.append(f"suspected lead reversal {interp.lead_reversal.suspected}")
    if flags:
        conclusion += ". Warnings: " + "; ".join(flags)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                  "code": "EC",
                                  "display": "Electrocardiac (e.g., EKG, EEC, Holter)"}]}],
        "code": {"coding": [{"system": LOINC, "code": "11524-6", "display": "EKG study"}],
                 "text": "12-lead ECG, automated interpretation"},
        "issued": issued,
        "result": [{"reference": u} for u in urls],
        "conclusion": conclusion,
    }
    if interp.record.acquisition_time is not None:
        report["effectiveDateTime"] = interp.record.acquisition_time.isoformat()
    if not interp.abstention.abstained:
        codes = [{"coding": _finding_codings(f), "text": f.label}
                 for f in interp.findings if f.confident]
        if codes:
            report["conclusionCode"] = codes
    entries = [{"fullUrl": _urn(), "resource": report}]
    entries += [{"fullUrl": u, "resource": o} for u, o in zip(urls, observations, strict=True)]
    return Bundle.model_validate({"resourceType": "Bundle", "type": "collection",
                                  "timestamp": issued, "entry": entries})


def to_json(interp: Interpretation) -> str:
    return build_bundle(interp).model_dump_json(indent=2)


def parse(text: str) -> Bundle:
    """Read a bundle back (used by the tests to prove the output round-trips)."""
    return Bundle.model_validate(json.loads(text))
