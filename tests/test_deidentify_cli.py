"""De-identification of DICOM, EDF and WFDB files: PHI gone, samples bit-identical, dates exact."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import edfio
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from ecglens.io import read
from ecglens.io.deidentify import DeidOptions, deidentify
from tests.helpers.cli import run_cli, run_main

DICOM = Path(get_testdata_file("waveform_ecg.dcm"))
#: identifying values present in pydicom's real ECG file
DICOM_PHI = [b"642341", b"19710123", b"Galliera", b"13002689", b"03028041970546", b"2721"]






# --- DICOM ---------------------------------------------------------------------------------


def test_dicom_phi_removed_waveform_bytes_identical_dates_shifted(tmp_path: Path) -> None:
    original = DICOM.read_bytes()
    assert all(s in original for s in DICOM_PHI)
    out = tmp_path / "anon.dcm"
    fmt = deidentify(DICOM, out, DeidOptions(pseudonym_key=b"secret", date_shift_days=-400))
    assert fmt == "dicom"
    data = out.read_bytes()
    for s in DICOM_PHI:
        assert s not in data, s
    a, b = pydicom.dcmread(DICOM), pydicom.dcmread(out)
    for ga, gb in zip(a.WaveformSequence, b.WaveformSequence, strict=True):
        assert ga.WaveformData == gb.WaveformData
    assert "PatientBirthDate" not in b
    expected = (datetime.strptime(a.StudyDate, "%Y%m%d") - timedelta(days=400)).strftime("%Y%m%d")
    assert b.StudyDate == expected
    assert b.AcquisitionDateTime == expected + str(a.AcquisitionDateTime)[8:]
    assert str(b.PatientID).startswith("ANON-") and b.PatientID != a.PatientID
    ecg_a, ecg_b = read(DICOM), read(out)
    assert np.array_equal(ecg_a.signal, ecg_b.signal)
    assert ecg_b.patient.sex == "F" and ecg_b.patient.age_years == 42


def test_dicom_same_key_same_pseudonym_and_drop_dates(tmp_path: Path) -> None:
    deidentify(DICOM, tmp_path / "a.dcm", DeidOptions(pseudonym_key=b"k1", drop_dates=True))
    deidentify(DICOM, tmp_path / "b.dcm", DeidOptions(pseudonym_key=b"k1"))
    deidentify(DICOM, tmp_path / "c.dcm", DeidOptions(pseudonym_key=b"k2"))
    a, b, c = (pydicom.dcmread(tmp_path / f"{n}.dcm") for n in "abc")
    assert a.PatientID == b.PatientID != c.PatientID
    assert a.StudyDate == "" and b"2013" not in (tmp_path / "a.dcm").read_bytes()


# --- EDF -----------------------------------------------------------------------------------


def _edf_with_phi(path: Path, formats_dir: Path) -> Path:
    ref = read(formats_dir / "physionet-challenge" / "E07507.hea")
    signals = [edfio.EdfSignal(ref.signal[:, k], ref.fs, label=f"ECG {lead}",
                               physical_dimension="mV", physical_range=(-32.768, 32.767))
               for k, lead in enumerate(ref.leads)]
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code="MRN4711", sex="M", birthdate=date(1950, 3, 4), name="Doe_John"),
        recording=edfio.Recording(startdate=date(2021, 5, 6), hospital_administration_code="ADM999",
                                  investigator_technician_code="TechSmith", equipment_code="CartX"),
        starttime=datetime(2021, 5, 6, 14, 30, 5).time(),
        data_record_duration=1.0,
        annotations=[edfio.EdfAnnotation(1.5, None, "John Doe coughed")],
    )
    edf.write(path)
    return path


def _signal_bytes(path: Path) -> bytes:
    """All non-annotation samples of every data record, in file order."""
    edf = edfio.read_edf(path)
    return b"".join(s.digital.astype("<i2").tobytes() for s in edf.signals)


def test_edf_phi_removed_samples_identical_date_shifted(tmp_path: Path, formats_dir: Path) -> None:
    src = _edf_with_phi(tmp_path / "phi.edf", formats_dir)
    raw = src.read_bytes()
    phi = [b"MRN4711", b"Doe_John", b"04-MAR-1950", b"ADM999", b"TechSmith", b"John Doe"]
    assert all(s in raw for s in phi)
    out = tmp_path / "anon.edf"
    assert deidentify(src, out, DeidOptions(date_shift_days=10)) == "edf"
    data = out.read_bytes()
    for s in phi:
        assert s not in data, s
    assert len(data) == len(raw)
    assert _signal_bytes(out) == _signal_bytes(src)
    after = edfio.read_edf(out)
    assert after.startdate == date(2021, 5, 16)
    assert after.starttime == datetime(2021, 5, 6, 14, 30, 5).time()
    assert after.patient.sex == "M"
    assert not [a for a in after.annotations if a.text]
    assert np.array_equal(read(out).signal, read(src).signal)


def test_edf_drop_dates_and_keyed_code(tmp_path: Path, formats_dir: Path) -> None:
    src = _edf_with_phi(tmp_path / "phi.edf", formats_dir)
    out = tmp_path / "anon.edf"
    deidentify(src, out, DeidOptions(pseudonym_key=b"k", drop_dates=True))
    after = edfio.read_edf(out)
    assert after.patient.code.startswith("ANON-")
    assert b"06.05.21" not in out.read_bytes() and b"2021" not in out.read_bytes()


# --- WFDB ----------------------------------------------------------------------------------


def _wfdb_with_phi(folder: Path, formats_dir: Path) -> Path:
    src = formats_dir / "physionet-challenge" / "E07508"
    folder.mkdir(parents=True, exist_ok=True)
    lines = src.with_suffix(".hea").read_text().splitlines()
    lines[0] += " 09:15:00 21/03/2019"
    lines = lines[:1] + ["# Name: Jane Roe", "# MRN: 99887766"] + lines[1:]
    lines = [ln.replace("# Age: ", "# Age: 9") if ln.startswith("# Age:") else ln for ln in lines]
    hea = folder / "E07508.hea"
    hea.write_text("\n".join(lines) + "\n")
    shutil.copyfile(src.with_suffix(".mat"), folder / "E07508.mat")
    return hea


def test_wfdb_header_cleaned_signal_file_copied(tmp_path: Path, formats_dir: Path) -> None:
    hea = _wfdb_with_phi(tmp_path / "in", formats_dir)
    out = tmp_path / "out" / "rec1.hea"
    assert deidentify(hea, out, DeidOptions(date_shift_days=-31)) == "wfdb"
    text = out.read_text()
    assert "Jane Roe" not in text and "99887766" not in text and "E07508" not in text
    assert "18/02/2019" in text and "09:15:00" in text  # 21 March minus 31 days
    assert "# Age: 90" in text and "# Dx:" in text and "# Sex:" in text
    assert (tmp_path / "out" / "rec1.mat").read_bytes() == hea.with_suffix(".mat").read_bytes()
    before, after = read(hea), read(out)
    assert np.array_equal(before.signal, after.signal)
    assert after.device.codes == before.device.codes and after.patient.age_years == 90


# --- CLI -----------------------------------------------------------------------------------


def test_cli_directory_tree_and_exit_codes(tmp_path: Path, formats_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "in"
    _wfdb_with_phi(tree / "wfdb", formats_dir)
    (tree / "dicom").mkdir()
    shutil.copyfile(DICOM, tree / "dicom" / "ecg.dcm")
    _edf_with_phi(tree / "edf.edf", formats_dir)
    key = tmp_path / "key"
    key.write_text("a secret\n")
    out = tmp_path / "out"
    r = run_main(capsys, "deidentify", str(tree), str(out), "--key-file", str(key),
                 "--shift-days", "7")
    assert r.returncode == 0, r.stderr
    for rel in ("wfdb/E07508.hea", "wfdb/E07508.mat", "dicom/ecg.dcm", "edf.edf"):
        assert (out / rel).is_file(), rel
    everything = r.stdout + r.stderr
    for s in ("Jane Roe", "642341", "MRN4711", "Doe_John"):
        assert s not in everything
    for f in out.rglob("*"):
        if f.is_file():
            blob = f.read_bytes()
            assert b"642341" not in blob and b"Jane Roe" not in blob and b"MRN4711" not in blob
    # one broken file: the batch goes on and the exit code says something failed
    (tree / "broken.dcm").write_bytes(DICOM.read_bytes()[:3000])
    r = run_main(capsys, "deidentify", str(tree), str(tmp_path / "out2"))
    assert r.returncode == 1 and "broken.dcm" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "out2" / "edf.edf").is_file()


def test_cli_single_file_errors_are_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    r = run_main(capsys, "deidentify", str(DICOM), str(tmp_path / "x.dcm"), "--key",
                 "k", "--drop-dates")
    assert r.returncode == 0, r.stderr
    r = run_cli("deidentify", str(tmp_path / "missing.dcm"), str(tmp_path / "y.dcm"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    r = run_main(capsys, "deidentify", str(tmp_path / "x.dcm"), str(tmp_path / "x.dcm"))
    assert r.returncode == 2 and "overwrite" in r.stderr
    r = run_main(capsys, "deidentify", str(DICOM), str(tmp_path / "z.dcm"), "--shift-days",
                 "3", "--drop-dates")
    assert r.returncode == 2  # argparse: mutually exclusive options


@pytest.mark.parametrize("days", [1, -3650])
def test_shift_is_exact_for_any_offset(tmp_path: Path, days: int) -> None:
    out = tmp_path / "s.dcm"
    deidentify(DICOM, out, DeidOptions(date_shift_days=days))
    a, b = pydicom.dcmread(DICOM), pydicom.dcmread(out)
    delta = datetime.strptime(b.ContentDate, "%Y%m%d") - datetime.strptime(a.ContentDate, "%Y%m%d")
    assert delta.days == days and b.ContentTime == a.ContentTime


def test_csv_and_npz_keep_only_what_is_read(tmp_path: Path, formats_dir: Path) -> None:
    from ecglens.io.arrays import write_csv

    ref = read(formats_dir / "physionet-challenge" / "JS20002.hea")
    csv_path = write_csv(ref, tmp_path / "a.csv")
    csv_path.write_text("# patient: Jane Roe\n# Jane Roe, MRN 99887766\n" + csv_path.read_text())
    npz_path = tmp_path / "a.npz"
    np.savez(npz_path, signal=ref.signal, fs=ref.fs, leads=np.asarray(ref.leads),
             patient=np.asarray("Jane Roe"))
    for src in (csv_path, npz_path):
        out = tmp_path / ("anon" + src.suffix)
        deidentify(src, out)
        assert b"Jane Roe" not in out.read_bytes() and b"99887766" not in out.read_bytes()
        assert np.array_equal(read(out).signal, read(src).signal)


def test_plain_edf_patient_field_replaced(tmp_path: Path, formats_dir: Path) -> None:
    """EDF (not EDF+): the local patient/recording fields are free text and go entirely."""
    raw = bytearray(_edf_with_phi(tmp_path / "plus.edf", formats_dir).read_bytes())
    raw[8:88] = b"Doe John 1950-03-04 MRN4711".ljust(80)
    raw[192:236] = b" " * 44  # no "EDF+C": a plain EDF file
    src = tmp_path / "plain.edf"
    src.write_bytes(bytes(raw))
    out = tmp_path / "anon.edf"
    deidentify(src, out, DeidOptions(drop_dates=True))
    data = out.read_bytes()
    assert b"MRN4711" not in data and b"Doe John" not in data and b"06.05.21" not in data
    assert b"John Doe" not in data  # the annotation channel is scrubbed in plain EDF too
    n_sig = 13
    assert data[256:256 * (n_sig + 1)] == bytes(raw[256:256 * (n_sig + 1)])
    assert np.array_equal(read(out).signal, read(src).signal)


def test_wfdb_drop_dates(tmp_path: Path, formats_dir: Path) -> None:
    hea = _wfdb_with_phi(tmp_path / "in", formats_dir)
    out = tmp_path / "out.hea"
    deidentify(hea, out, DeidOptions(drop_dates=True))
    record_line = out.read_text().splitlines()[0]
    assert record_line.split() == ["out", "12", "500", "5000"]
