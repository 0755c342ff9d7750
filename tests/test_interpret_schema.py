"""The measurement report travels inside the interpretation (schema 1.3): results of the 1.x
schemas still read, the top-level mirrors stay for 1.x readers, and the report renderers use
what travels instead of measuring again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecglens.interpret.result import SCHEMA_VERSION, Interpretation
from ecglens.measure import analysis
from tests.helpers.interp_fixtures import example_ecg, example_interpretation


def test_the_measurement_report_travels_and_the_mirrors_match() -> None:
    interp = example_interpretation(example_ecg())
    d = json.loads(interp.model_dump_json())
    assert d["schema_version"] == SCHEMA_VERSION == "1.4"
    report = d["measurement"]
    assert report["version"] == "1.0"
    assert report["median_beats"]["leads"] == list(example_ecg().leads)
    for key in ("measurements", "quality", "lead_reversal"):  # 1.x readers find them on top
        assert d[key] == report[key]
    again = Interpretation.model_validate_json(interp.model_dump_json())
    assert again == interp


def test_a_result_of_schema_1_2_still_reads() -> None:
    d = json.loads(example_interpretation(example_ecg()).model_dump_json())
    report = d.pop("measurement")
    d["schema_version"] = "1.2"  # stored by 0.3.1: the three fields, no report
    old = Interpretation.model_validate(d)
    assert old.measurements.model_dump() == report["measurements"]
    assert old.measurement.quality.model_dump() == report["quality"]
    assert old.measurement.median_beats is None  # 1.2 did not carry them


def test_the_pdf_draws_the_median_beats_that_travel(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from ecglens.report.pages import write_pdf

    ecg = example_ecg()
    interp = example_interpretation(ecg)
    assert any(f.explanation is not None for f in interp.findings)

    def no_second_measurement(*a: object, **k: object) -> None:
        raise AssertionError("the report measured the record again")

    monkeypatch.setattr(analysis, "analyze", no_second_measurement)
    assert write_pdf(ecg, interp, tmp_path / "r.pdf") >= 2
