"""Readers for DICOM, EDF, CSV/NumPy and the WFDB fast path, on real files."""

from __future__ import annotations

from pathlib import Path

import edfio
import numpy as np
import pydicom
import pytest
import wfdb
from pydicom.data import get_testdata_file
from pydicom.waveforms.numpy_handler import generate_multiplex

from ecglens.exceptions import ECGFormatError
from ecglens.io import detect_format, read
from ecglens.io.arrays import write_csv, write_npz
from ecglens.io.wfdb_format import read_with_wfdb
from ecglens.io.writers import write_edf
from ecglens.record import STANDARD_LEADS, normalize_lead_name

DICOM = Path(get_testdata_file("waveform_ecg.dcm"))


def _ptbxl_records(ptbxl_dir: Path, n: int) -> list[Path]:
    return sorted((ptbxl_dir / "records100").rglob("*_lr.hea"))[:: 997][:n]


# --- DICOM ---------------------------------------------------------------------------------


def test_dicom_reads_12_leads_in_mv_matching_pydicom() -> None:
    ecg = read(DICOM)
    assert detect_format(DICOM) == "dicom"
    assert ecg.leads == STANDARD_LEADS
    ds = pydicom.dcmread(DICOM)
    group = ds.WaveformSequence[0]
    assert ecg.fs == float(group.SamplingFrequency) == 1000.0
    assert ecg.n_samples == int(group.NumberOfWaveformSamples) == 10000
    raw = next(generate_multiplex(ds, as_raw=True))
    sens = np.array([float(c.ChannelSensitivity) * float(c.ChannelSensitivityCorrectionFactor)
                     for c in group.ChannelDefinitionSequence])
    expected_mv = raw * sens / 1000.0  # sensitivity unit is uV in this file
    step = np.asarray(ecg.resolution_mv)
    assert np.allclose(step, sens / 1000.0)
    assert np.all(np.abs(ecg.signal - expected_mv) <= step)
    # and pydicom's own physical conversion
    assert np.allclose(ecg.signal, ds.waveform_array(0) / 1000.0, atol=1e-12)


def test_dicom_metadata_and_device_measurements() -> None:
    ecg = read(DICOM)
    assert ecg.patient.sex == "F" and ecg.patient.age_years == 42
    assert ecg.acquisition.filter_low_hz == pytest.approx(0.05)
    assert ecg.device.measurements["pr_ms"] == 161
    assert ecg.device.measurements["qrs_ms"] == 75
    assert "RITMO SINUSALE" in ecg.device.statements


def test_truncated_dicom_is_format_error(tmp_path: Path) -> None:
    data = DICOM.read_bytes()
    for cut in (len(data) // 2, len(data) - 1000):
        bad = tmp_path / f"cut{cut}.dcm"
        bad.write_bytes(data[:cut])
        with pytest.raises(ECGFormatError) as info:
            read(bad)
        assert str(bad) in str(info.value)


# --- EDF -----------------------------------------------------------------------------------


def test_edf_written_by_edfio_in_uv_is_read_in_mv(tmp_path: Path, formats_dir: Path) -> None:
    ref = read(formats_dir / "physionet-challenge" / "JS20001.hea")
    signals = [
        edfio.EdfSignal(ref.signal[:, k] * 1000.0, ref.fs, label=f"EKG {lead.upper()}",
                        physical_dimension="uV", physical_range=(-32768.0, 32767.0))
        for k, lead in enumerate(ref.leads)
    ]
    signals.append(edfio.EdfSignal(np.zeros(10), 1.0, label="Resp", physical_dimension="%"))
    path = tmp_path / "mixed.edf"
    edfio.Edf(signals, data_record_duration=1.0).write(path)
    ecg = read(path)
    assert detect_format(path) == "edf"
    assert ecg.leads == STANDARD_LEADS  # EKG AVR -> aVR, respiration channel left out
    assert ecg.fs == ref.fs and ecg.n_samples == ref.n_samples
    assert np.max(np.abs(ecg.signal - ref.signal)) <= max(ecg.resolution_mv or (1,))


def test_truncated_edf_is_format_error(tmp_path: Path, formats_dir: Path) -> None:
    path = write_edf(read(formats_dir / "physionet-challenge" / "E07501.hea"), tmp_path / "a.edf")
    data = path.read_bytes()
    bad = tmp_path / "cut.edf"
    bad.write_bytes(data[: len(data) - 5000])
    with pytest.raises(ECGFormatError):
        read(bad)


# --- CSV and NumPy -------------------------------------------------------------------------


def test_csv_and_npz_round_trip(tmp_path: Path, formats_dir: Path) -> None:
    ref = read(formats_dir / "physionet-challenge" / "E07502.hea")
    csv_path = write_csv(ref, tmp_path / "e.csv")
    npz_path = write_npz(ref, tmp_path / "e.npz")
    assert detect_format(csv_path) == "csv" and detect_format(npz_path) == "numpy"
    for path in (csv_path, npz_path):
        ecg = read(path)
        assert ecg.leads == ref.leads and ecg.fs == ref.fs
        np.testing.assert_allclose(ecg.signal, ref.signal, rtol=0, atol=1e-9)


def test_csv_time_column_gives_fs_and_units_comment(tmp_path: Path) -> None:
    t = np.arange(0, 2, 1 / 250)
    sig = np.column_stack([np.sin(t), np.cos(t)]) * 1000  # microvolts
    lines = ["# units=uV", "time;I;II"] + [f"{a:.6f};{b:.6f};{c:.6f}"
                                           for a, (b, c) in zip(t, sig, strict=True)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    ecg = read(path, format="csv")
    assert ecg.fs == 250 and ecg.leads == ("I", "II")
    np.testing.assert_allclose(ecg.signal, sig / 1000, atol=1e-9)


def test_csv_without_fs_and_bare_npy_say_how_to_fix(tmp_path: Path) -> None:
    csv_path = tmp_path / "nofs.csv"
    csv_path.write_text("I,II\n0.1,0.2\n0.3,0.4\n0.5,0.6\n")
    with pytest.raises(ECGFormatError, match="# fs="):
        read(csv_path)
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((100, 2)))
    with pytest.raises(ECGFormatError, match="savez"):
        read(npy)


# --- WFDB fast path ------------------------------------------------------------------------


def _assert_same_as_rdrecord(hea: Path) -> None:
    ecg = read(hea)
    rec = wfdb.rdrecord(str(hea.with_suffix("")))
    assert ecg.n_samples == rec.sig_len
    assert set(rec.units) == {"mV"}  # so no unit conversion stands between the two
    for k, name in enumerate(rec.sig_name):
        # bit-identical, NaN where wfdb has NaN
        np.testing.assert_array_equal(ecg.lead(normalize_lead_name(name)), rec.p_signal[:, k],
                                      err_msg=f"{hea.name} {name}")
    slow = read_with_wfdb(hea)
    np.testing.assert_array_equal(ecg.signal, slow.signal)
    assert ecg.resolution_mv == slow.resolution_mv and ecg.device == slow.device


def test_wfdb_fast_path_identical_to_rdrecord(ptbxl_dir: Path, ludb_dir: Path,
                                              formats_dir: Path) -> None:
    records = (
        _ptbxl_records(ptbxl_dir, 5)
        + [ludb_dir / "data" / f"{i}.hea" for i in (1, 57, 140)]
        + sorted((formats_dir / "physionet-challenge").glob("*.hea"))[::4]
        + [formats_dir / "mitbih" / "100.hea"]  # format 212, 2 leads
    )
    for hea in records:
        _assert_same_as_rdrecord(hea)


def test_wfdb_truncated_signal_file_is_format_error(tmp_path: Path, formats_dir: Path) -> None:
    src = formats_dir / "physionet-challenge" / "E07503"
    (tmp_path / "E07503.hea").write_bytes(src.with_suffix(".hea").read_bytes())
    (tmp_path / "E07503.mat").write_bytes(src.with_suffix(".mat").read_bytes()[:50_000])
    with pytest.raises(ECGFormatError, match="truncated"):
        read(tmp_path / "E07503.hea")


def test_dicom_mdc_codes_and_millivolt_units(tmp_path: Path) -> None:
    """Leads named from MDC codes; a sensitivity given in mV scales the same samples alike."""
    ds = pydicom.dcmread(DICOM)
    group = ds.WaveformSequence[0]
    mdc = {"I": 1, "II": 2, "III": 61, "aVR": 62, "aVL": 63, "aVF": 64,
           "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8}
    for ch, lead in zip(group.ChannelDefinitionSequence, STANDARD_LEADS, strict=False):
        code = ch.ChannelSourceSequence[0]
        code.CodeValue, code.CodingSchemeDesignator = f"2:{mdc[lead]}", "MDC"
        code.CodeMeaning = "x"  # names must come from the code, not the text
        ch.ChannelSensitivity = float(ch.ChannelSensitivity) / 1000.0
        ch.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
    out = tmp_path / "mdc.dcm"
    ds.save_as(out)
    ecg, ref = read(out), read(DICOM)
    assert ecg.leads == STANDARD_LEADS
    np.testing.assert_allclose(ecg.signal, ref.signal, rtol=1e-12, atol=1e-12)


def test_dicom_padding_value_samples_become_nan(tmp_path: Path) -> None:
    ds = pydicom.dcmread(DICOM)
    group = ds.WaveformSequence[0]
    raw = np.frombuffer(group.WaveformData, dtype="<i2").reshape(-1, 12).copy()
    raw[100:110, 0] = -32768
    group.WaveformData = raw.tobytes()
    group.add_new(0x5400100A, "OW", np.int16(-32768).tobytes())  # Waveform Padding Value
    out = tmp_path / "pad.dcm"
    ds.save_as(out)
    ecg = read(out)
    assert np.isnan(ecg.signal).sum() == 10 and np.isnan(ecg.signal[100:110, 0]).all()
