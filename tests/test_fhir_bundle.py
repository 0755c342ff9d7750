import json

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from ecglens.report.fhir import LOINC, MEASUREMENT_LOINC, SNOMED, parse, to_json
from tests.helpers.interp_fixtures import example_ecg, example_interpretation


def _resources(text: str) -> list[dict]:
    return [e["resource"] for e in json.loads(text)["entry"]]


def test_bundle_round_trips_and_codes_measurements_with_loinc() -> None:
    interp = example_interpretation(example_ecg(), codes=("CLBBB", "SR"))
    text = to_json(interp)
    bundle = parse(text)  # validates every resource against fhir.resources' models
    assert bundle.type == "collection"
    res = _resources(text)
    report = DiagnosticReport.model_validate(res[0])
    assert report.status == "preliminary"
    assert report.code.coding[0].code == "11524-6"
    obs = [Observation.model_validate(r) for r in res[1:]]
    assert len(report.result) == len(obs)
    loinc = {c.code for o in obs for c in o.code.coding or [] if c.system == LOINC}
    m = interp.measurements
    expected = {code for f, (code, *_) in MEASUREMENT_LOINC.items() if getattr(m, f) is not None}
    assert expected and expected <= loinc
    assert {"8867-4", "8633-0"} <= loinc
    hr = next(o for o in obs if o.code.coding and o.code.coding[0].code == "8867-4")
    assert hr.valueQuantity.code == "/min"
    assert float(hr.valueQuantity.value) == round(m.heart_rate_bpm, 1)
    # findings: SNOMED where known, SCP code always, probability as value
    lbbb = next(o for o in obs if any(c.code == "CLBBB" for c in o.code.coding or []))
    assert any(c.system == SNOMED and c.code == "733534002" for c in lbbb.code.coding)
    assert float(lbbb.valueQuantity.value) == 0.9
    assert any("Consistency" in n.text for n in lbbb.note)
    assert "Complete left bundle branch block" in report.conclusion


def test_abstained_bundle_has_no_finding_observations() -> None:
    interp = example_interpretation(example_ecg(), abstained=True)
    text = to_json(interp)
    parse(text)
    res = _resources(text)
    assert "No automated interpretation" in res[0]["conclusion"]
    assert "conclusionCode" not in res[0]
    for r in res[1:]:
        assert r["code"]["coding"][0]["system"] == LOINC


def test_no_patient_identity_in_bundle() -> None:
    text = to_json(example_interpretation(example_ecg()))
    assert '"subject"' not in text and '"Patient"' not in text
