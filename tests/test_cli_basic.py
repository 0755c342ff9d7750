import json
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "ecglens" / "examples" / "E07500.hea"


def test_info_json_on_bundled_example() -> None:
    r = run_cli("info", str(EXAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["format"] == "wfdb"
    assert info["leads"][:3] == ["I", "II", "III"] and len(info["leads"]) == 12
    assert info["sampling_rate_hz"] == 500
    assert info["n_samples"] == 5000
    assert info["duration_s"] == 10.0


def test_info_missing_file_is_one_line_error(tmp_path: Path) -> None:
    r = run_cli("info", str(tmp_path / "nope.xml"))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "nope.xml" in r.stderr


def _expected_records(formats_dir: Path) -> set[str]:
    """What a directory listing must hold, worked out from the files themselves."""
    return {
        str(f.relative_to(formats_dir)) for f in formats_dir.rglob("*")
        if f.suffix.lower() in {".hea", ".xml", ".scp"}
    }


def test_info_directory_json_lists_each_record_once(formats_dir: Path) -> None:
    r = run_cli("info", str(formats_dir), "--json")
    assert r.returncode == 1, "the invalid Sierra file must make the batch fail"
    out = json.loads(r.stdout)
    listed = [str(Path(x["file"]).relative_to(formats_dir)) for x in out["records"]]
    listed += [str(Path(e["file"]).relative_to(formats_dir)) for e in out["errors"]]
    assert len(listed) == len(set(listed)), "a record was listed twice"
    assert set(listed) == _expected_records(formats_dir)
    assert out["n_files"] == len(listed) and out["n_read"] + out["n_failed"] == out["n_files"]
    assert [Path(e["file"]).name for e in out["errors"]] == ["invalid-doc-type.xml"]
    assert all(len(x["leads"]) >= 1 and x["sampling_rate_hz"] > 0 for x in out["records"])
    assert "Traceback" not in r.stderr
    assert r.stderr.rstrip().splitlines()[-1] == (
        f"ecglens: {out['n_read']} of {out['n_files']} files read, 1 failed"
    )


def test_info_directory_table_skips_companions_and_reports_errors(
    formats_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecglens.cli import main

    src = formats_dir / "mitbih"
    for f in src.iterdir():  # 100.hea + 100.dat + 100.atr: one record
        (tmp_path / f.name).write_bytes(f.read_bytes())
    aecg = formats_dir / "hl7-aecg" / "minimum_aecg.xml"
    (tmp_path / "renamed_ecg.bin").write_bytes(aecg.read_bytes())
    (tmp_path / "junk.xml").write_bytes(b"\x00\x01 not xml at all")
    (tmp_path / "notes.txt").write_text("not an ECG, skipped")
    code = main(["info", str(tmp_path)])
    captured = capsys.readouterr()
    rows = [ln.split("\t") for ln in captured.out.strip().splitlines()]
    assert [r[0] for r in rows] == ["100.hea", "junk.xml", "renamed_ecg.bin"]
    assert rows[0][1] == "wfdb" and rows[2][1] == "hl7-aecg" and rows[1][1] == "ERROR"
    assert code == 1
    err_lines = [ln for ln in captured.err.splitlines() if ln.startswith("ecglens:")]
    assert err_lines[0].startswith(f"ecglens: error: {tmp_path / 'junk.xml'}: ")
    assert err_lines[-1] == "ecglens: 2 of 3 files read, 1 failed"


def test_info_directory_all_good_exits_zero(formats_dir: Path, tmp_path: Path) -> None:
    from ecglens.cli import main

    for f in (formats_dir / "physionet-challenge").glob("E0750[01].*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    assert main(["info", str(tmp_path), "--json"]) == 0


def test_info_directory_lists_multi_segment_record_once(
    formats_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Segment headers belong to the layout header that names them."""
    import wfdb

    from ecglens.cli import main

    rec = wfdb.rdrecord(str(formats_dir / "physionet-challenge" / "E07500"), channels=[0])
    for i, (a, b) in enumerate(((0, 2500), (2500, 5000)), start=1):
        wfdb.wrsamp(f"seg{i}", fs=500, units=["mV"], sig_name=["I"], p_signal=rec.p_signal[a:b],
                    fmt=["16"], write_dir=str(tmp_path))
    (tmp_path / "multi.hea").write_text("multi/2 1 500 5000\nseg1 2500\nseg2 2500\n")
    assert main(["info", str(tmp_path)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert [r.split("\t")[0] for r in rows] == ["multi.hea"]
    assert "10.00 s" in rows[0]


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf"])
def test_info_json_stays_strict_json_with_nonfinite_device_measurement(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt DICOM measurement ("NaN") is reported as null, not as invalid JSON."""
    import pydicom
    from pydicom.data import get_testdata_file

    from ecglens.cli import main

    ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
    ann = next(a for a in ds.WaveformAnnotationSequence
               if "NumericValue" in a
               and a.ConceptNameCodeSequence[0].CodeMeaning == "QRS Duration")
    ann.NumericValue = value
    p = tmp_path / "nan.dcm"
    ds.save_as(p)
    code = main(["info", str(p), "--json"])
    out = capsys.readouterr().out
    if code == 0:
        info = json.loads(out)  # json.loads accepts NaN; check the text itself
        assert "NaN" not in out and "Infinity" not in out
        assert info["device_measurements"].get("qrs_ms") is None
    else:  # refusing the file is also acceptable, as a typed error (2), not an internal one (3)
        assert code == 2 and out == ""


def test_allocator_thresholds_apply_on_glibc() -> None:
    import ctypes
    import sys

    from ecglens.runtime import tune_allocator

    try:
        ctypes.CDLL("libc.so.6").mallopt  # noqa: B018  (present on glibc only)
        glibc = sys.platform.startswith("linux")
    except (OSError, AttributeError):
        glibc = False
    assert tune_allocator() is glibc
