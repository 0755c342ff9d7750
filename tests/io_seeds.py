"""Real files of every registered format, for the bad-input and fuzz tests.

Most come straight from ``../shared/data/formats`` and pydicom's test data; EDF, NumPy and CSV
have no real files there, so they are written here from a real WFDB signal with the maintained
library for each (edfio, numpy, the csv text layout ``ecglens.io.arrays`` documents).
A seed is the list of files that make up one record; the first is the one passed to ``read``.
"""

from __future__ import annotations

import binascii
import contextlib
import importlib
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecglens.io.registry import FORMATS

SOURCE_WFDB = "physionet-challenge/E07500"  # 12 leads, 500 Hz, 10 s

_REAL: dict[str, list[str]] = {
    "wfdb": ["physionet-challenge/E07500.hea", "physionet-challenge/JS20000.hea", "mitbih/100.hea"],
    "hl7-aecg": ["hl7-aecg/subject1_0.xml", "hl7-aecg/minimum_aecg.xml"],
    "philips-sierra": ["philips-sierra/129DYPRG.XML", "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml"],
    "ge-muse": ["ge-muse/guangxi_teaching_sinus_rhythm.xml"],
    "scp-ecg": [
        "scp-ecg/ECG_20060620_112352_ANON000002.SCP",
        "scp-ecg/ECG_20070321_110542_ANON000004.SCP",
        "scp-ecg/ECG_20170504_163507_ANON000009.SCP",
    ],
}

#: extension a file of each format usually has (for empty/random/huge files)
EXTENSION = {
    "wfdb": ".hea", "hl7-aecg": ".xml", "philips-sierra": ".xml", "ge-muse": ".xml",
    "dicom": ".dcm", "scp-ecg": ".SCP", "edf": ".edf", "numpy": ".npz", "csv": ".csv",
}

ALL_FORMATS = sorted(FORMATS)
XML_FORMATS = ["hl7-aecg", "philips-sierra", "ge-muse"]


def require_reader(fmt: str) -> None:
    """Fail (never skip) when a registered format has no importable reader module."""
    module = FORMATS[fmt][0]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"format {fmt!r} is registered but its reader {module} cannot be imported: {exc}")


def companions(hea: Path) -> list[Path]:
    """The signal files a WFDB header names (one entry per distinct file)."""
    names: list[str] = []
    lines = [ln for ln in hea.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    n_sig = int(lines[0].split()[1])
    for ln in lines[1:1 + n_sig]:
        if ln.split()[0] not in names:
            names.append(ln.split()[0])
    return [hea.parent / n for n in names]


def _source_signal(formats_dir: Path) -> tuple[np.ndarray, float, list[str]]:
    rec = wfdb.rdrecord(str(formats_dir / SOURCE_WFDB))
    return rec.p_signal, float(rec.fs), list(rec.sig_name)


def _write_edf(formats_dir: Path, out: Path) -> Path:
    import edfio

    sig, fs, leads = _source_signal(formats_dir)
    signals = [
        edfio.EdfSignal(sig[:, i], fs, label=f"ECG {name}", physical_dimension="mV",
                        physical_range=(-32.768, 32.767))
        for i, name in enumerate(leads)
    ]
    path = out / "E07500.edf"
    edfio.Edf(signals, data_record_duration=1.0).write(path)
    return path


def _write_npz(formats_dir: Path, out: Path) -> Path:
    sig, fs, leads = _source_signal(formats_dir)
    path = out / "E07500.npz"
    np.savez(path, signal=sig, fs=np.float64(fs), leads=np.asarray(leads))
    return path


def _write_csv(formats_dir: Path, out: Path) -> Path:
    sig, fs, leads = _source_signal(formats_dir)
    path = out / "E07500.csv"
    with path.open("w") as fh:
        fh.write(f"# fs={fs:g}\n# units=mV\n")
        np.savetxt(fh, sig[:1000], delimiter=",", header=",".join(leads), comments="", fmt="%.4f")
    return path


def seed_records(fmt: str, formats_dir: Path, out: Path) -> list[list[Path]]:
    """Every seed record of ``fmt``; each record is [file to read, companion files...]."""
    if fmt in _REAL:
        firsts = [formats_dir / rel for rel in _REAL[fmt]]
        return [[f, *companions(f)] if fmt == "wfdb" else [f] for f in firsts]
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "dicom":
        from pydicom.data import get_testdata_file

        return [[Path(str(get_testdata_file("waveform_ecg.dcm")))]]
    writer = {"edf": _write_edf, "numpy": _write_npz, "csv": _write_csv}[fmt]
    return [[writer(formats_dir, out)]]


def all_seed_records(formats_dir: Path, out: Path) -> dict[str, list[list[Path]]]:
    """Seed records of every format; a format whose writer library is missing gets none (and
    the test that needs it fails)."""
    result: dict[str, list[list[Path]]] = {}
    for fmt in ALL_FORMATS:
        try:
            result[fmt] = seed_records(fmt, formats_dir, out / fmt)
        except ImportError:
            result[fmt] = []
    return result


def copy_record(record: list[Path], dest: Path) -> Path:
    """Copy a seed record into ``dest`` (writable); return the path of its main file."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in record:
        (dest / f.name).write_bytes(f.read_bytes())
    return dest / record[0].name


@contextlib.contextmanager
def memory_cap(headroom: int = 3 * 1024**3) -> Iterator[None]:
    """Cap the address space at current use + ``headroom`` (Linux), restored afterwards.

    Hostile inputs can make a reader allocate whatever a header declares; without a cap one
    such bug takes the whole machine's memory (and the OOM killer takes other processes).
    """
    if not sys.platform.startswith("linux"):
        yield
        return
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[0]) * resource.getpagesize()
    old = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + headroom
    if old[1] != resource.RLIM_INFINITY:
        limit = min(limit, old[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def fix_scp_crcs(b: bytes) -> bytes:
    """Recompute the record length, every section CRC and the record CRC after a mutation."""
    out = bytearray(b)
    if len(out) < 22:
        return bytes(out)
    out[2:6] = len(out).to_bytes(4, "little")
    sec0_len = int.from_bytes(out[10:14], "little")
    spans = [(6, sec0_len)]
    body = out[6 + 16:6 + min(sec0_len, len(out))]
    for pos in range(0, len(body) - 9, 10):
        length = int.from_bytes(body[pos + 2:pos + 6], "little")
        index = int.from_bytes(body[pos + 6:pos + 10], "little")
        if length and index:
            spans.append((index - 1, length))
    for start, length in spans:
        if 2 <= length and start + length <= len(out):
            out[start:start + 2] = binascii.crc_hqx(bytes(out[start + 2:start + length]), 0xFFFF).to_bytes(2, "little")
    out[0:2] = binascii.crc_hqx(bytes(out[2:]), 0xFFFF).to_bytes(2, "little")
    return bytes(out)
