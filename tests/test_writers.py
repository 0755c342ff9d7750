"""WFDB and EDF writers: round trips of real records keep every sample to its quantisation step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from ecglens.exceptions import ECGSignalError
from ecglens.io import detect_format, read
from ecglens.io.limits import MAX_ABS_MV
from ecglens.io.writers import write_edf, write_wfdb
from ecglens.record import ECG
from tests.helpers.cli import run_cli, run_main


def _records(ptbxl_dir: Path, ludb_dir: Path, formats_dir: Path) -> list[Path]:
    ptbxl = sorted((ptbxl_dir / "records100").rglob("*_lr.hea"))[::2011][:4]
    return (
        ptbxl
        + [ludb_dir / "data" / f"{i}.hea" for i in (2, 33, 99)]
        + [formats_dir / "physionet-challenge" / n
           for n in ("E07504.hea", "JS20003.hea", "JS20008.hea")]
        + [Path(get_testdata_file("waveform_ecg.dcm"))]
    )


def _assert_round_trip(ref: ECG, back: ECG, *, exact: bool) -> None:
    assert back.leads == ref.leads
    assert back.fs == ref.fs and back.n_samples == ref.n_samples
    step = np.asarray(ref.resolution_mv)
    err = np.abs(back.signal - ref.signal) / step
    # within one quantisation step always; WFDB at the source step is exact up to float rounding
    assert np.nanmax(err) < (1e-6 if exact else 0.5)
    assert np.array_equal(np.isnan(back.signal), np.isnan(ref.signal))


def test_wfdb_and_edf_round_trips(tmp_path: Path, ptbxl_dir: Path, ludb_dir: Path,
                                  formats_dir: Path) -> None:
    for i, src in enumerate(_records(ptbxl_dir, ludb_dir, formats_dir)):
        ref = read(src)
        assert ref.resolution_mv is not None
        hea = write_wfdb(ref, tmp_path / f"rec{i}")
        _assert_round_trip(ref, read(hea), exact=True)
        edf = write_edf(ref, tmp_path / f"rec{i}.edf")
        assert detect_format(edf) == "edf"
        _assert_round_trip(ref, read(edf), exact=False)


def test_wfdb_round_trip_keeps_metadata(tmp_path: Path, formats_dir: Path) -> None:
    ref = read(formats_dir / "physionet-challenge" / "JS20005.hea")
    back = read(write_wfdb(ref, tmp_path / "x"))
    assert back.device.codes == ref.device.codes
    assert back.patient.age_years == ref.patient.age_years and back.patient.sex == ref.patient.sex


def test_edf_refuses_length_it_cannot_store(tmp_path: Path, formats_dir: Path) -> None:
    # 650000 samples at 360 Hz = 1805.5 s: no record length of at most 8 characters divides it
    ref = read(formats_dir / "mitbih" / "100.hea")
    with pytest.raises(ECGSignalError, match="whole EDF data records"):
        write_edf(ref, tmp_path / "odd.edf")
    # a length that is one record of 9.998 s is fine
    short = read(formats_dir / "physionet-challenge" / "E07505.hea")
    short = short.replace(signal=short.signal[:4999])
    assert read(write_edf(short, tmp_path / "short.edf")).n_samples == 4999






def test_convertrun_cli(tmp_path: Path, formats_dir: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    src = formats_dir / "physionet-challenge" / "E07506.hea"
    ref = read(src)
    r = run_main(capsys, "convert", str(src), str(tmp_path / "out.edf"))
    assert r.returncode == 0, r.stderr
    _assert_round_trip(ref, read(tmp_path / "out.edf"), exact=False)
    r = run_main(capsys, "convert", str(tmp_path / "out.edf"),
                 str(tmp_path / "back"), "--to", "wfdb")
    assert r.returncode == 0, r.stderr
    back = read(tmp_path / "back.hea")
    assert np.nanmax(np.abs(back.signal - ref.signal)) <= max(ref.resolution_mv or (0,))
    r = run_main(capsys, "convert", str(tmp_path / "back.hea"), str(tmp_path / "back"))
    assert r.returncode == 2 and "overwrite" in r.stderr
    r = run_main(capsys, "convert", str(src), str(tmp_path / "out.xyz"))
    assert r.returncode == 2 and "--to" in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr


def test_convert_cli_truncated_input_is_one_line_error(tmp_path: Path) -> None:
    data = Path(get_testdata_file("waveform_ecg.dcm")).read_bytes()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data[: len(data) // 2])
    r = run_cli("convert", str(bad), str(tmp_path / "x.edf"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "cut.dcm" in r.stderr


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    step_uv=st.floats(min_value=0.1, max_value=20.0),
    fs=st.sampled_from([100, 250, 257, 360, 500, 1000]),
    seconds=st.integers(min_value=1, max_value=3),
    peak=st.integers(min_value=1, max_value=32767),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_round_trip_at_any_quantisation_step(tmp_path: Path, step_uv: float, fs: int, seconds: int,
                                             peak: int, seed: int) -> None:
    """Synthetic on purpose: the step and range must vary beyond what the real files hold
    (within the ±MAX_ABS_MV every read signal is held to)."""
    step = step_uv / 1000.0
    peak = min(peak, int(MAX_ABS_MV / step))
    rng = np.random.default_rng(seed)
    digital = rng.integers(-peak, peak + 1, size=(fs * seconds, 3))
    ref = ECG(signal=digital * step, fs=fs, leads=("I", "II", "V1"), resolution_mv=(step,) * 3)
    back = read(write_wfdb(ref, tmp_path / f"p{seed}"))
    assert np.max(np.abs(back.signal - ref.signal)) <= step * 1e-6
    back = read(write_edf(ref, tmp_path / f"p{seed}.edf"))
    assert back.n_samples == ref.n_samples
    assert np.max(np.abs(back.signal - ref.signal)) < step * 0.5
