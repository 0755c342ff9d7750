"""``ecglens interpret`` end to end with the shipped model, in-process (a fresh process costs
seconds), plus one subprocess check that errors are one line."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom.data
import pytest
from pypdf import PdfReader

from ecglens.cli import main
from ecglens.cli.common import expand_inputs
from ecglens.interpret.pipeline import interpret
from ecglens.interpret.result import SCHEMA_VERSION, Interpretation
from ecglens.io import read
from ecglens.models import load_predictor
from ecglens.report.fhir import parse

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "ecglens" / "examples" / "E07500.hea"


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    return load_predictor()


def test_json_pdf_png_fhir_on_bundled_example(tmp_path: Path, capsys, predictor) -> None:
    pdf, png, fhir = tmp_path / "r.pdf", tmp_path / "r.png", tmp_path / "r.fhir.json"
    rc = main(["interpret", str(EXAMPLE), "--json", "--pdf", str(pdf), "--png", str(png),
               "--fhir", str(fhir)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    r = Interpretation.model_validate(out)  # the JSON is the schema, round trip
    assert r.schema_version == SCHEMA_VERSION
    assert r.models and len(r.models[0].sha256) == 64 and r.models[0].weights_sha256
    assert r.record.file == "E07500.hea" and r.patient.deidentified
    assert r.measurements.heart_rate_bpm is not None
    assert not r.abstention.abstained
    probs = [f.probability for f in r.findings]
    # network statements reach their threshold; measured ones carry no probability
    assert all(f.probability >= f.threshold for f in r.findings if f.probability is not None)
    assert all(f.source == "measurement" for f in r.findings if f.probability is None)
    assert r.summary is not None and r.statements
    # every reported finding is explained, with a per-lead summary and a raw map
    assert r.findings and all(f.explanation is not None for f in r.findings)
    assert all(f.explanation.raw and len(f.explanation.raw.values) == 12 for f in r.findings)
    # print order (schema 1.4): the primary rhythm first, headlines before possible ones, each
    # group after the rhythm by clinical priority
    assert r.findings[0].category == "rhythm" and r.findings[0].confident
    conf = [f.confident for f in r.findings]
    assert conf == sorted(conf, reverse=True) and len(probs) == len(r.findings)
    for group in (r.findings[1:sum(conf)], r.findings[sum(conf):]):
        prios = [f.priority for f in group if f.code != "NORM"]
        assert prios == sorted(prios)
    assert r.ecg_age is not None and r.ecg_age.stated_years == 78
    pages = PdfReader(str(pdf)).pages
    assert len(pages) == 1 + len(r.findings)
    assert r.findings[0].label in pages[0].extract_text()
    assert png.stat().st_size > 50_000
    bundle = parse(fhir.read_text())
    assert bundle.entry[0].resource.get_resource_type() == "DiagnosticReport"


def test_text_summary(capsys, predictor) -> None:
    assert main(["interpret", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "quality:" in out and "rate" in out and "evidence:" in out


def test_directory_gives_one_table_and_reports_per_file(tmp_path: Path, formats_dir: Path,
                                                        capsys, predictor) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("E07501", "JS20000"):
        for ext in (".hea", ".mat"):
            shutil.copy(formats_dir / "physionet-challenge" / f"{name}{ext}", src)
    shutil.copy(formats_dir / "philips-sierra" / "invalid-doc-type.xml", src)
    rc = main(["interpret", str(src), "--explain", "0", "--fhir", str(tmp_path / "fhir")])
    assert rc == 1  # one file failed; the others are still interpreted
    cap = capsys.readouterr()
    out = cap.out.strip().splitlines()
    assert out[0].startswith("file") and len(out) == 1 + 3 + 1
    assert any("invalid-doc-type.xml" in line and "ERROR" in line for line in out)
    assert out[-1].startswith("3 files:") and "1 failed" in out[-1]
    assert "invalid-doc-type.xml" in cap.err
    assert len(list((tmp_path / "fhir").glob("*.fhir.json"))) == 2
    assert main(["interpret", str(src), "--json", "--explain", "0"]) == 1
    js = json.loads(capsys.readouterr().out)
    assert js["n_files"] == 3 and js["n_failed"] == 1 and len(js["interpretations"]) == 2


def _one_file_per_format(formats_dir: Path) -> list[Path]:
    """The first file of every folder a directory run would read (MIT-BIH's 30-min Holter is
    left to the reader tests: it costs minutes here and adds no format)."""
    files, _ = expand_inputs(str(formats_dir))
    firsts: dict[str, Path] = {}
    for f in files:
        if "invalid" not in f.name and f.parent.name != "mitbih":
            firsts.setdefault(f.parent.name, f)
    return [*firsts.values(), Path(pydicom.data.get_testdata_file("waveform_ecg.dcm"))]


def test_every_reader_format_gives_a_valid_result(formats_dir: Path, tmp_path: Path,
                                                  predictor) -> None:
    # EDF, CSV and NumPy have no real sample files: write the bundled record with our writers
    from ecglens.io.arrays import write_csv, write_npz
    from ecglens.io.writers import write_edf

    ex = read(EXAMPLE)
    written = [write_edf(ex, tmp_path / "e.edf"), write_csv(ex, tmp_path / "e.csv"),
               write_npz(ex, tmp_path / "e.npz")]
    seen = set()
    for f in _one_file_per_format(formats_dir) + written:
        ecg = read(f)
        r = interpret(ecg, predictor=predictor, explain=0)
        seen.add(ecg.source_format)
        Interpretation.model_validate_json(r.model_dump_json())
        if r.abstention.abstained:
            assert r.abstention.reasons and not r.findings
        else:
            assert all(0 <= f.probability <= 1 for f in r.findings if f.probability is not None)
    assert {"wfdb", "hl7-aecg", "philips-sierra", "ge-muse", "scp-ecg", "dicom", "edf", "csv",
            "numpy"} <= seen


def test_ptbxl_and_ludb_records(ptbxl_dir: Path, ludb_dir: Path, predictor) -> None:
    for path in (ptbxl_dir / "records100" / "21000" / "21001_lr.hea",
                 ludb_dir / "data" / "1.hea"):
        r = interpret(read(path), predictor=predictor, explain=1)
        assert r.record.n_samples > 0
        assert r.abstention.abstained or r.findings


def test_noise_and_flat_inputs_abstain(predictor) -> None:
    import numpy as np

    from ecglens.record import STANDARD_LEADS, make_ecg

    rng = np.random.default_rng(0)
    for sig in (rng.normal(0, 0.5, (5000, 12)), np.zeros((5000, 12))):
        r = interpret(make_ecg(sig, 500.0, list(STANDARD_LEADS)), predictor=predictor)
        assert r.abstention.abstained and not r.findings
    ecg = read(EXAMPLE)
    sig = np.array(ecg.signal)
    sig[:, ecg.leads.index("V2")] = rng.normal(0, 0.3, ecg.n_samples)
    r = interpret(ecg.replace(signal=sig), predictor=predictor)
    assert r.abstention.abstained and "V2" in " ".join(r.abstention.reasons)
    assert not any(f.confident for f in r.findings)


def test_show_patient_keeps_identity_only_when_asked(formats_dir: Path, predictor) -> None:
    path = formats_dir / "ge-muse" / "guangxi_teaching_sinus_rhythm.xml"
    ecg = read(path)
    hidden = interpret(ecg, predictor=predictor, explain=0)
    shown = interpret(ecg, predictor=predictor, explain=0, show_patient=True)
    assert hidden.patient.name is None and hidden.record.acquisition_time is None
    assert shown.patient.deidentified is False
    assert shown.patient.name == ecg.patient.name


def test_bad_inputs_are_one_line_errors(tmp_path: Path, capsys, formats_dir: Path,
                                        predictor) -> None:
    assert main(["interpret", str(tmp_path / "nope.xml")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.xml" in err
    bad = formats_dir / "philips-sierra" / "invalid-doc-type.xml"
    assert main(["interpret", str(bad)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "invalid-doc-type.xml" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["interpret", str(EXAMPLE), "--explain", "0",
                 "--pdf", str(blocker / "r.pdf")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write the PDF report" in err


def test_cli_error_in_a_fresh_process_has_no_traceback(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "ecglens.cli", "interpret",
                        str(tmp_path / "missing.hea")], check=False, capture_output=True,
                       text=True,
                       timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0


def test_fast_scoring_equals_predictor_predict(ptbxl_dir: Path, predictor) -> None:
    """interpret scores one task in one pass; it must agree with the models stage exactly."""
    from ecglens.interpret.predictor import label_scores, score

    for path in (ptbxl_dir / "records100" / "21000" / "21001_lr.hea",):
        ecg = read(path).to_standard_12()
        fast = score(predictor, ecg, "all", keep_graph=True)
        ref = label_scores(predictor, ecg, "all")
        assert fast.labels.keys() == ref.labels.keys()
        for code, (p, t1, t2) in fast.labels.items():
            assert abs(p - ref.labels[code][0]) < 1e-6 and (t1, t2) == ref.labels[code][1:]
        assert fast.age_years == pytest.approx(ref.age_years, abs=1e-4)


def test_a_noisy_but_usable_lead_gives_no_confident_finding(predictor) -> None:
    import numpy as np

    from ecglens.interpret.abstain import caution_checks
    from ecglens.measure.analysis import analyze

    ecg = read(EXAMPLE)
    sig = np.array(ecg.signal)
    sig[:, ecg.leads.index("V3")] += np.random.default_rng(3).normal(0, 0.1, ecg.n_samples)
    noisy = ecg.replace(signal=sig)
    assert caution_checks(analyze(noisy).quality)  # the measurement stage calls V3 limited
    r = interpret(noisy, predictor=predictor, explain=0)
    assert not r.abstention.abstained and r.abstention.caution
    # no network reading is a headline; only a primary rhythm the measurement made or confirmed
    assert all(f.category == "rhythm" and f.source != "network"
               for f in r.findings if f.confident)
    assert sum(f.confident for f in r.findings) <= 1


def test_interactive_bundle_scores_like_its_predictor(ptbxl_dir: Path) -> None:
    """The CLI's default bundle: findings carry the predictor's own calibrated probabilities,
    reach their threshold, and are confident only when also more likely than not."""
    from ecglens.data.ptbxl import read_database
    from ecglens.interpret.findings import MIN_CONFIDENT_P
    from ecglens.interpret.pipeline import DEFAULT_BUNDLE

    fast = load_predictor(DEFAULT_BUNDLE)
    db = read_database(ptbxl_dir, folds=[9]).head(8)
    n_findings = 0
    for name in db["filename_lr"]:
        ecg = read(ptbxl_dir / f"{name}.hea")
        r = interpret(ecg, predictor=fast, explain=0)
        probs = fast.predict(ecg).tasks["all"].probabilities
        for f in r.findings:
            n_findings += 1
            if f.probability is None:  # a statement made from the measurements
                assert f.source == "measurement"
                continue
            assert f.probability == pytest.approx(probs[f.code], abs=1e-3)
            assert f.probability >= f.threshold
            # the primary rhythm and "normal ECG" are the statement rules' decisions (rhythm
            # rule, overall line), not the network's operating point
            if (f.confident and f.category != "rhythm" and f.source == "network"
                    and f.code != "NORM"):
                assert f.probability >= max(MIN_CONFIDENT_P, f.threshold_high_specificity or 0)
    assert n_findings > 0
