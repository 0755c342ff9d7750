"""Read time per format: ``ecglens.io.read`` against the library each reader wraps, same run.

    .venv/bin/python -m benchmarks.bench_read [--repeats 15] [--ptbxl-records 100]

Files: every real file under ``<data>/formats`` (data = $ECGLENS_DATA or ../shared/data),
pydicom's DICOM ECG, PTB-XL (100 Hz) and LUDB (500 Hz) WFDB records from the test cache
(``cache/``; unpacked to a temporary folder when absent) and EDF files written to a temporary
folder from the challenge records with edfio. Each file is read ``repeats`` times, alternating
ecglens and the baseline call so that machine load hits both alike; the per-file median is
taken, and the table shows the median over files. The baseline is the library call that
decodes the same samples to physical units (wfdb.rdrecord, pydicom dcmread + waveform_array,
edfio.read_edf + signal data, sierraecg.read_file, ecgdatakit's SCP parser, numpy).
ecglens does more than the baseline on every row (format sniffing, header vetting, unit
conversion to mV, lead normalisation, metadata), so a ratio above 1 is expected there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecglens.io import detect_format, read

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ECGLENS_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache"))


def _wfdb_baseline(p: Path) -> object:
    import wfdb

    return wfdb.rdrecord(str(p.with_suffix("")))


def _dicom_baseline(p: Path) -> object:
    import pydicom

    ds = pydicom.dcmread(str(p))
    return ds.waveform_array(0)


def _edf_baseline(p: Path) -> object:
    import edfio

    return [s.data for s in edfio.read_edf(p, lazy_load_data=False).signals]


def _sierra_baseline(p: Path) -> object:
    import sierraecg

    return sierraecg.read_file(str(p))


def _scp_baseline(p: Path) -> object:
    from ecgdatakit.parsing.parsers.scp_ecg import SCPECGParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SCPECGParser().parse(p)


def _numpy_baseline(p: Path) -> object:
    with np.load(p) as z:
        return z["signal"]


def _csv_baseline(p: Path) -> object:
    return np.loadtxt(p, delimiter=",", comments="#", skiprows=3)


BASELINES: dict[str, tuple[str, Callable[[Path], object]]] = {
    "wfdb": ("wfdb.rdrecord", _wfdb_baseline),
    "dicom": ("pydicom", _dicom_baseline),
    "edf": ("edfio", _edf_baseline),
    "philips-sierra": ("sierraecg", _sierra_baseline),
    "scp-ecg": ("ecgdatakit", _scp_baseline),
    "numpy": ("numpy.load", _numpy_baseline),
    "csv": ("numpy.loadtxt", _csv_baseline),
}


def _ptbxl(tmp: Path, n: int) -> list[Path]:
    root = CACHE / "ptbxl"
    if not (root / "records100").is_dir():
        root = tmp / "ptbxl"
        subprocess.run([sys.executable, str(DATA / "ptbxl" / "unpack.py"), str(root),
                        "--folds", "9"],
                       check=True, capture_output=True)
    files = sorted((root / "records100").rglob("*_lr.hea"))
    return files[:: max(1, len(files) // n)][:n]


def _ludb(tmp: Path, n: int) -> list[Path]:
    root = CACHE / "ludb"
    if not (root / "data" / "1.hea").is_file():
        with tarfile.open(DATA / "ludb.tar.xz") as tf:
            tf.extractall(tmp, filter="data")
        root = tmp / "ludb"
    return [root / "data" / f"{i}.hea" for i in range(1, 141, max(1, 140 // n))][:n]


def _edf_files(tmp: Path, sources: list[Path]) -> list[Path]:
    from ecglens.io.writers import write_edf

    return [write_edf(read(s), tmp / "edf" / f"{s.stem}.edf") for s in sources]


def _array_files(tmp: Path, sources: list[Path]) -> list[Path]:
    from ecglens.io.arrays import write_csv, write_npz

    out: list[Path] = []
    for s in sources:
        ecg = read(s)
        out += [write_npz(ecg, tmp / "arr" / f"{s.stem}.npz"),
                write_csv(ecg, tmp / "arr" / f"{s.stem}.csv")]
    return out


def collect(tmp: Path, n_ptbxl: int) -> dict[str, list[Path]]:
    from pydicom.data import get_testdata_file

    groups: dict[str, list[Path]] = {}

    def add(label: str, files: list[Path]) -> None:
        groups.setdefault(label, []).extend(files)

    challenge = sorted((DATA / "formats" / "physionet-challenge").glob("*.hea"))
    add("wfdb PTB-XL 100 Hz", _ptbxl(tmp, n_ptbxl))
    add("wfdb LUDB 500 Hz", _ludb(tmp, 20))
    add("wfdb challenge .mat 500 Hz", challenge)
    add("wfdb MIT-BIH 212, 30 min", [DATA / "formats" / "mitbih" / "100.hea"])
    add("dicom", [Path(get_testdata_file("waveform_ecg.dcm"))])
    add("edf (written from challenge)", _edf_files(tmp, challenge))
    for folder in ("hl7-aecg", "philips-sierra", "ge-muse", "scp-ecg"):
        for f in sorted((DATA / "formats" / folder).iterdir()):
            if f.suffix.lower() in {".txt", ".md"}:
                continue
            try:
                fmt = detect_format(f)
                read(f)
            except Exception as exc:  # noqa: BLE001 - files meant to be rejected, readers not there yet
                print(f"skipped {f.name}: {type(exc).__name__}", file=sys.stderr)
                continue
            add(fmt, [f])
    for f in _array_files(tmp, challenge[:5]):
        add(detect_format(f), [f])
    return groups


def _median_ms(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def bench(files: list[Path], repeats: int) -> tuple[float, float | None, str]:
    fmt = detect_format(files[0])
    base_name, base = BASELINES.get(fmt, ("-", None))  # type: ignore[assignment]
    ours, theirs = [], []
    for f in files:
        read(f)  # warm caches and imports once
        if base is not None:
            base(f)
        a, b = [], []
        for _ in range(repeats):
            a.append(_median_ms(lambda f=f: read(f)))
            if base is not None:
                b.append(_median_ms(lambda f=f: base(f)))
        ours.append(statistics.median(a))
        if b:
            theirs.append(statistics.median(b))
    return statistics.median(ours), statistics.median(theirs) if theirs else None, base_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--ptbxl-records", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        groups = collect(Path(tmp), args.ptbxl_records)
        print(f"{'files':<32} {'n':>3} {'ecglens ms':>11} {'baseline':>14} {'base ms':>8} "
              f"{'ratio':>6}")
        for label, files in groups.items():
            ours, theirs, name = bench(files, args.repeats)
            ratio = f"{ours / theirs:6.2f}" if theirs else "     -"
            base_ms = f"{theirs:8.2f}" if theirs else "       -"
            print(f"{label:<32} {len(files):>3} {ours:11.2f} {name:>14} {base_ms} {ratio}")
    print("ratio = ecglens / baseline (lower is faster); medians over files of per-file medians; "
          f"{args.repeats} reads per file; cpu count {os.cpu_count()}")


if __name__ == "__main__":
    main()
