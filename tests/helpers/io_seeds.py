"""Real files of every registered format, for the bad-input and fuzz tests.

Most come straight from ``../shared/data/formats`` and pydicom's test data; EDF, NumPy and CSV
have no real files there, so they are written here from a real WFDB signal with the maintained
library for each (edfio, numpy, the csv text layout ``ecglens.io.arrays`` documents).
A seed is the list of files that make up one record; the first is the one passed to ``read``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import io
import re
import resource
import sys
import zlib
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
    "philips-sierra": ["philips-sierra/129DYPRG.XML",
                       "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml"],
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
        pytest.fail(f"format {fmt!r} is registered but its reader {module} cannot be imported: "
                    f"{exc}")


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
            crc = binascii.crc_hqx(bytes(out[start + 2:start + length]), 0xFFFF)
            out[start:start + 2] = crc.to_bytes(2, "little")
    out[0:2] = binascii.crc_hqx(bytes(out[2:]), 0xFFFF).to_bytes(2, "little")
    return bytes(out)


# --- a deterministic mutation corpus, and reads of it under resource limits ---------------------
# Used by tests/test_io_fuzz_bounded.py (a small corpus, in CI) and benchmarks/fuzz_readers.py
# (hundreds per format). Each mutant is a seed record with 1–3 mutations: byte flips,
# truncations, inserted/deleted/duplicated chunks, absurd header values (sampling rates, gains,
# baselines, skews, counts, units), structure-aware changes past checksums and encodings (SCP-ECG
# CRCs recomputed, .npz members re-zipped, Philips XLI payloads and GE MUSE waveforms re-encoded
# with their CRC), LZW bombs, and oversized XML tokens. Every mutant is read in a subprocess with
# an address-space cap; its outcome is a typed refusal, a plausible ECG, or a violation.

#: values written over header fields
ABSURD = ["0", "-1", "-5", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-300",
          "1e9", "abc", "",
          "99999999", "2147483648", "4294967296", "99999999999999999999", "0.0001", "65535", "1.5"]
#: values written over samples
ABSURD_SAMPLES = ["nan", "inf", "-inf", "1e308", "-1e308", "1e6", "51", "abc", ""]
_INTS = [0, 1, 0xFF, 0x7F, 0x80, 0xFFFF, 0x7FFF, 0x8000, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000]
PER_FILE_SECONDS = 10.0
PER_FILE_RSS_BYTES = 1024**3
ADDRESS_SPACE_HEADROOM = 1536 * 1024**2


class Rng:
    """numpy's Generator with the few draws the mutators need."""

    def __init__(self, seed: int) -> None:
        self.g = np.random.default_rng(seed)

    def num(self, lo: int, hi: int) -> int:  # inclusive
        return int(self.g.integers(lo, hi + 1))

    def pick(self, items: list):  # type: ignore[no-untyped-def, type-arg]
        return items[self.num(0, len(items) - 1)]

    def blob(self, n: int) -> bytes:
        return self.g.integers(0, 256, n, dtype=np.uint8).tobytes()


# generic byte-level mutations ----------------------------------------------------------------

def _flip(b: bytes, r: Rng) -> bytes:
    out = bytearray(b)
    for _ in range(r.num(1, 8)):
        if out:
            out[r.num(0, len(out) - 1)] ^= r.num(1, 255)
    return bytes(out)


def _truncate(b: bytes, r: Rng) -> bytes:
    return b[:r.num(0, max(len(b) - 1, 0))]


def _insert(b: bytes, r: Rng) -> bytes:
    at = r.num(0, len(b))
    return b[:at] + r.blob(r.num(1, 64)) + b[at:]


def _delete(b: bytes, r: Rng) -> bytes:
    at = r.num(0, max(len(b) - 1, 0))
    return b[:at] + b[at + r.num(1, 512):]


def _duplicate(b: bytes, r: Rng) -> bytes:
    at = r.num(0, max(len(b) - 1, 0))
    chunk = b[at:at + r.num(1, 4096)]
    to = r.num(0, len(b))
    return b[:to] + chunk * r.num(1, 3) + b[to:]


def _int_over(b: bytes, r: Rng) -> bytes:
    """A hostile 2- or 4-byte integer over the first 4 KB (where binary headers are)."""
    if not b:
        return b
    width = r.pick([2, 4])
    at = r.num(0, max(min(len(b), 4096) - width, 0))
    v = r.pick(_INTS) & (2 ** (8 * width) - 1)
    return b[:at] + v.to_bytes(width, r.pick(["little", "big"])) + b[at + width:]


GENERIC = [_flip, _flip, _truncate, _insert, _delete, _duplicate, _int_over]


# field-level mutations -------------------------------------------------------------------------

def _sub_group(b: bytes, pattern: bytes, r: Rng, values: list[str] | None = None,
               group: int = 1) -> bytes:
    """Replace group ``group`` of one (random) match of ``pattern`` by an absurd value."""
    matches = list(re.finditer(pattern, b, flags=re.MULTILINE))
    if not matches:
        return _flip(b, r)
    m = r.pick(matches)
    if m.start(group) < 0:
        return b
    return b[:m.start(group)] + r.pick(values or ABSURD).encode() + b[m.end(group):]


def _wfdb_header(b: bytes, r: Rng) -> bytes:
    """An absurd value in one field of the record line or of one signal line."""
    lines = b.decode("latin-1").splitlines()
    body = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not body:
        return _flip(b, r)
    value = r.pick(ABSURD)
    if r.num(0, 2) == 0:  # record line: name n_sig fs sig_len
        tokens = lines[body[0]].split()
        k = r.num(1, min(3, len(tokens) - 1)) if len(tokens) > 1 else 0
        tokens[k] = (value or "0") if k != 2 else value + ("" if r.num(0, 1)
                                                           else "/" + r.pick(ABSURD))
        lines[body[0]] = " ".join(tokens)
    else:
        i = r.pick(body[1:] or body)
        tokens = lines[i].split()
        if len(tokens) < 3:
            return _flip(b, r)
        m = re.fullmatch(r"(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?", tokens[1])
        g = re.fullmatch(r"([-\d.e+]*)(?:\((-?\d+)\))?(?:/(\S+))?", tokens[2])
        if m is None or g is None:
            return _flip(b, r)
        fmt, spf, skew, off = m.groups()
        gain, base, units = g.groups()
        digits = re.sub(r"\D", "", value) or "0"
        field = r.pick(["fmt", "spf", "skew", "off", "gain", "base", "units", "res",
                        "zero", "name"])
        if field == "fmt":
            fmt = r.pick([digits, "8", "80", "310", "311", "24", "32", "61", "160", "508"])
        elif field == "spf":
            spf = digits
        elif field == "skew":
            skew = digits
        elif field == "off":
            off = digits
        elif field == "gain":
            gain = value
        elif field == "base":
            base = r.pick(["-" + digits, digits])
        elif field == "units":
            units = r.pick(["V", "uV", "nV", "kV", "mmHg", "%", "?", value or "x"])
        elif field in ("res", "zero") and len(tokens) > 4:
            tokens[3 if field == "res" else 4] = digits
        elif field == "name":
            tokens[0] = r.pick(["~", "-", "missing.dat", "../x.dat", tokens[0] + "x"])
        tokens[1] = (fmt + (f"x{spf}" if spf else "") + (f":{skew}" if skew else "")
                     + (f"+{off}" if off else ""))
        tokens[2] = gain + (f"({base})" if base else "") + (f"/{units}" if units else "")
        lines[i] = " ".join(tokens)
    return ("\n".join(lines) + "\n").encode("latin-1")


def _csv_field(b: bytes, r: Rng) -> bytes:
    choice = r.num(0, 3)
    if choice == 0:
        return _sub_group(b, rb"^# fs=([^\n]*)", r)
    if choice == 1:
        return _sub_group(b, rb"^# units=([^\n]*)", r, ["V", "kV", "nV", "uV", "", "abc"])
    lines = b.decode("utf-8", "replace").split("\n")
    rows = [i for i, ln in enumerate(lines) if ln and not ln.startswith("#")][1:]
    if not rows:
        return _flip(b, r)
    col = r.num(0, lines[rows[0]].count(","))
    targets = [r.pick(rows)] if choice == 2 else rows
    value = r.pick(ABSURD_SAMPLES)
    for i in targets:
        cells = lines[i].split(",")
        if col < len(cells):
            cells[col] = value
            lines[i] = ",".join(cells)
    return "\n".join(lines).encode()


def _npz_field(b: bytes, r: Rng) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(b)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        with np.load(io.BytesIO(b)) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception:  # noqa: BLE001 - an earlier mutation broke the archive
        return _flip(b, r)
    choice = r.num(0, 5)
    if choice == 0:
        arrays["fs"] = np.asarray(float(r.pick(["nan", "inf", "0", "-5", "1e9", "1e-300", "0.5"])))
    elif choice == 1:
        sig = np.array(arrays["signal"], dtype=np.float64)
        value = float(r.pick(["nan", "inf", "-inf", "1e308", "51", "1e6"]))
        if r.num(0, 1):
            sig[r.num(0, sig.shape[0] - 1), r.num(0, sig.shape[1] - 1)] = value
        else:
            sig[:, r.num(0, sig.shape[1] - 1)] = value
        arrays["signal"] = sig
    elif choice == 2:
        arrays["leads"] = r.pick([arrays["leads"][:-1], np.asarray(["I"] * len(arrays["leads"])),
                                  np.asarray([]), np.asarray([1, 2])])
    elif choice == 3:
        step = float(r.pick(["nan", "inf", "-1", "1e9"]))
        arrays["resolution_mv"] = np.asarray([step] * len(arrays["leads"]))
    elif choice == 4:
        with np.errstate(all="ignore"):  # float32 of an earlier 1e308 is inf: fine, a mutant
            arrays["signal"] = r.pick([arrays["signal"][:0], arrays["signal"].T,
                                       arrays["signal"][:, :1],
                                       np.asarray(arrays["signal"], dtype=np.float32)[:, ::-1]])
    else:  # bytes inside one member, re-zipped so the archive itself stays valid
        name = r.pick(sorted(members))
        members[name] = r.pick(GENERIC)(members[name], r)
        return _zip(members)
    out = {}
    for k, a in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=False)
        out[f"{k}.npy"] = buf.getvalue()
    return _zip(out)


def _zip(members: dict[str, bytes]) -> bytes:
    """A zip archive whose bytes depend on the members only (no time stamps)."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return buf.getvalue()


def _edf_field(b: bytes, r: Rng) -> bytes:
    try:
        ns = int(b[252:256])
    except ValueError:
        return _flip(b, r)
    if not 0 < ns <= 4096:
        return _flip(b, r)
    fields = {"n_records": (236, 8, 1), "duration": (244, 8, 1), "ns": (252, 4, 1),
              "dimension": (256 + ns * 96, 8, ns), "physical_min": (256 + ns * 104, 8, ns),
              "physical_max": (256 + ns * 112, 8, ns), "digital_min": (256 + ns * 120, 8, ns),
              "digital_max": (256 + ns * 128, 8, ns), "samples": (256 + ns * 216, 8, ns)}
    name = r.pick(sorted(fields))
    at, width, count = fields[name]
    value = r.pick(["V", "uV", "kV", "mmHg", "", "nV"]) if name == "dimension" else r.pick(ABSURD)
    signals = range(count) if r.num(0, 1) else [r.num(0, count - 1)]
    for i in signals:
        pos = at + i * width
        b = b[:pos] + value.encode()[:width].ljust(width) + b[pos + width:]
    return b


_DICOM_FIELDS: dict[str, list] = {  # type: ignore[type-arg]  # keyword -> values (in the waveform group or its first channel)
    "SamplingFrequency": ABSURD,
    "NumberOfWaveformChannels": [0, 1, 13, 255, 65535],
    "NumberOfWaveformSamples": [0, 1, 99_999_999, 4_294_967_295],
    "WaveformBitsAllocated": [0, 1, 8, 32, 64, 65535],
    "WaveformSampleInterpretation": ["SS", "US", "SB", "UB", "SL", "UL", "MB", "AB", "XX"],
    "ChannelSensitivity": ABSURD,
    "ChannelBaseline": ABSURD,
    "ChannelSensitivityCorrectionFactor": ABSURD,
    "units": ["uV", "mV", "V", "kV", "mm[Hg]", "", "%"],
}


def _dicom_field(b: bytes, r: Rng) -> bytes:
    import logging
    import warnings

    import pydicom

    logging.getLogger("pydicom").setLevel(logging.ERROR)  # it logs every invalid DS we write
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(b))
            group = ds.WaveformSequence[0]
            keyword = r.pick(sorted(_DICOM_FIELDS))
            value = r.pick(_DICOM_FIELDS[keyword])
            channels = list(group.ChannelDefinitionSequence)
            targets = channels if r.num(0, 1) else [r.pick(channels)]
            if keyword.startswith("Channel"):
                for ch in targets:
                    setattr(ch, keyword, value)
            elif keyword == "units":
                for ch in targets:
                    ch.ChannelSensitivityUnitsSequence[0].CodeValue = value
            else:
                setattr(group, keyword, value)
            buf = io.BytesIO()
            ds.save_as(buf)
            return buf.getvalue()
    except Exception:  # noqa: BLE001 - pydicom refused the value or the mutated bytes
        return _flip(b, r)


def _scp_field(b: bytes, r: Rng) -> bytes:
    """An absurd value in Section 3 (leads) or 6 (rhythm header), or bytes inside any section;
    every CRC recomputed so the value reaches the decoder."""
    if len(b) < 22:
        return b
    sec0 = b[6 + 16: 6 + int.from_bytes(b[10:14], "little")]
    starts = {}
    for pos in range(0, len(sec0) - 9, 10):
        sid = int.from_bytes(sec0[pos:pos + 2], "little")
        index = int.from_bytes(sec0[pos + 6:pos + 10], "little")
        if int.from_bytes(sec0[pos + 2:pos + 6], "little") and index:
            starts[sid] = index - 1 + 16
    if 3 in starts and 6 in starts and r.num(0, 2):
        s3, s6 = starts[3], starts[6]
        at, width = r.pick([(s3, 1), (s3 + 2, 4), (s3 + 6, 4), (s6, 2), (s6 + 2, 2),
                            (s6 + 4, 1), (s6 + 6, 2)])
        v = r.pick(_INTS) & (2 ** (8 * width) - 1)
        b = b[:at] + v.to_bytes(width, "little") + b[at + width:]
    else:
        b = r.pick(GENERIC)(b, r)
    return fix_scp_crcs(b)


def _aecg_field(b: bytes, r: Rng) -> bytes:
    pattern = r.pick([rb'<increment[^>]*value="([^"]*)"', rb'<increment[^>]*unit="([^"]*)"',
                      rb'<scale[^>]*value="([^"]*)"', rb'<scale[^>]*unit="([^"]*)"',
                      rb'<origin[^>]*value="([^"]*)"', rb'<origin[^>]*unit="([^"]*)"',
                      rb"<digits>\s*(\S+)", rb'<code code="(MDC_ECG_LEAD_[^"]*)"'])
    values = ["ms", "us", "s", "kV", "V", "nV", "", "Hz"] if b"unit" in pattern else None
    if b"digits" in pattern:
        values = ABSURD_SAMPLES
    return _sub_group(b, pattern, r, values)


def _muse_field(b: bytes, r: Rng) -> bytes:
    if r.num(0, 3) == 0:  # samples changed with the CRC recomputed, so they reach the decoder
        m = r.pick(list(re.finditer(rb"<WaveFormData>([^<]*)</WaveFormData>\s*</LeadData>", b))
                   or [None])
        crc = re.compile(rb"<LeadDataCRC32>(\d+)</LeadDataCRC32>")
        if m is not None:
            try:
                raw = base64.b64decode(b"".join(m.group(1).split()))
            except (binascii.Error, ValueError):
                return _flip(b, r)
            raw = r.pick([_flip, _int_over, _truncate])(raw, r)
            lead_start = b.rfind(b"<LeadData>", 0, m.start())
            b = b[:m.start(1)] + base64.b64encode(raw) + b[m.end(1):]
            c = crc.search(b, lead_start)
            if c is not None:
                b = b[:c.start(1)] + str(zlib.crc32(raw)).encode() + b[c.end(1):]
            return b
    tag = r.pick([b"SampleBase", b"SampleExponent", b"LeadAmplitudeUnitsPerBit",
                  b"LeadAmplitudeUnits",
                  b"LeadSampleCountTotal", b"LeadByteCountTotal", b"NumberofLeads",
                  b"LeadSampleSize",
                  b"LeadID"])
    values = (["VOLTS", "MILLIVOLTS", "MICROVOLTS", "NANOVOLTS", ""]
              if tag == b"LeadAmplitudeUnits" else None)
    return _sub_group(b, rb"<%s>([^<]*)</" % tag, r, values)


def _xli_payload(text: bytes, r: Rng) -> bytes:
    m = re.search(rb"(<parsedwaveforms[^>]*>)([^<]+)(</parsedwaveforms>)", text)
    if m is None:
        return _flip(text, r)
    try:
        payload = base64.b64decode(b"".join(m.group(2).split()))
    except (binascii.Error, ValueError):
        return _flip(text, r)
    choice = r.num(0, 3)
    if choice == 0:  # an LZW bomb as the first lead's chunk
        bomb = lzw_pack([65, *range(256, 1023), *([1022] * r.num(1000, 100_000))])
        payload = len(bomb).to_bytes(4, "little") + b"\0\0\0\0" + bomb + payload
    elif choice == 1:  # chunk header fields
        v = r.pick(_INTS) & 0xFFFFFFFF
        at = r.pick([0, 4, 6])
        width = 4 if at == 0 else 2
        payload = payload[:at] + v.to_bytes(4, "little")[:width] + payload[at + width:]
    else:
        payload = r.pick(GENERIC)(payload, r)
    return text[:m.start(2)] + base64.b64encode(payload) + text[m.end(2):]


def _sierra_field(b: bytes, r: Rng) -> bytes:
    if r.num(0, 2) == 0:
        return _xli_payload(b, r)
    pattern = r.pick([rb'samplespersecond="([^"]*)"', rb"<samplingrate>([^<]*)<",
                      rb'durationperchannel="([^"]*)"',
                      rb'resolution="([^"]*)"', rb"<signalresolution>([^<]*)<",
                      rb"<resolution>([^<]*)<",
                      rb"<numberchannelsallocated>([^<]*)<", rb'numberofleads="([^"]*)"',
                      rb'leadlabels="([^"]*)"', rb'dataencoding="([^"]*)"',
                      rb'compressmethod="([^"]*)"'])
    values = (["Plain", "Base64", "XLI", "", "I II"]
              if b"encod" in pattern or b"compress" in pattern or b"labels" in pattern else None)
    return _sub_group(b, pattern, r, values)


def lzw_pack(codes: list[int], bits: int = 10) -> bytes:
    """Codes as Philips XLI's LZW stores them: ``bits`` bits each, most significant first."""
    acc = n = 0
    out = bytearray()
    for c in codes:
        acc = (acc << bits) | c
        n += bits
        while n >= 8:
            n -= 8
            out.append((acc >> n) & 0xFF)
        acc &= (1 << n) - 1
    if n:
        out.append((acc << (8 - n)) & 0xFF)
    return bytes(out)


def _big_token(b: bytes, r: Rng) -> bytes:
    """An attribute, text run or comment just over the XML token limit, at a random tag."""
    from ecglens.io.limits import MAX_XML_TOKEN_BYTES

    size = MAX_XML_TOKEN_BYTES + r.num(1, 4096)
    tags = [m.end() for m in re.finditer(rb"<[A-Za-z][\w:.-]*", b[:200_000])]
    if not tags:
        return b
    at = r.pick(tags)
    kind = r.num(0, 2)
    if kind == 0:
        return b[:at] + b' x="' + b"A" * size + b'"' + b[at:]
    close = b.find(b">", at) + 1
    filler = b"7 " * (size // 2) if kind == 1 else b"<!--" + b"<" * size + b"-->"
    return b[:close] + filler + b[close:]


FIELD_MUTATORS = {
    "wfdb": _wfdb_header, "csv": _csv_field, "numpy": _npz_field, "edf": _edf_field,
    "dicom": _dicom_field, "scp-ecg": _scp_field, "hl7-aecg": _aecg_field, "ge-muse": _muse_field,
    "philips-sierra": _sierra_field,
}


def mutate_record(fmt: str, files: list[bytes], r: Rng) -> tuple[str, list[bytes]]:
    """One mutant of a seed record (its files' bytes); returns (what was done, new bytes)."""
    files = list(files)
    target = 0 if fmt != "wfdb" or r.num(0, 2) else 1  # WFDB: mostly the header
    data = files[target]
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if utf16:  # Philips 1.04: mutate as UTF-8 text, write back as UTF-16
        data = data.decode("utf-16").encode("utf-8")
    done = []
    for _ in range(r.num(1, 3)):
        roll = r.num(0, 99)
        if fmt in XML_FORMATS and roll < 6:
            op = _big_token
        elif roll < 55 and target == 0:
            op = FIELD_MUTATORS[fmt]
        elif roll < 65:
            op = _truncate
        else:
            op = r.pick(GENERIC)
        try:
            data = op(data, r)
        except Exception:  # noqa: BLE001 - a mutator tripping on an earlier mutation's damage
            op = _flip
            data = op(data, r)
        done.append(op.__name__.strip("_"))
    if utf16:
        data = data.decode("utf-8", "replace").encode("utf-16")
    files[target] = data
    return f"{'+'.join(done)}@{target}", files


def mutant_corpus(fmt: str, records: list[list[Path]], n: int,
                  seed: int) -> Iterator[tuple[str, list[Path], list[bytes]]]:
    """``n`` mutants of ``fmt``'s seed records: (label, seed record, mutated bytes of its files)."""
    originals = [[f.read_bytes() for f in rec] for rec in records]
    r = Rng(seed)
    for i in range(n):
        k = i % len(records)
        label, data = mutate_record(fmt, originals[k], r)
        yield f"{fmt}#{i}:{records[k][0].name}:{label}", records[k], data


# --- reading under limits, in a subprocess ------------------------------------------------------

def plausibility_problem(ecg: object) -> str | None:
    """What makes a returned ECG implausible, or None. Written out here, apart from the readers'
    own checks: fs within 1–100,000 Hz, samples and leads, no ±inf, no finite |x| > 50 mV, no
    lead without a single sample (NaN only marks missing samples)."""
    sig = np.asarray(ecg.signal, dtype=np.float64)  # type: ignore[attr-defined]
    fs = ecg.fs  # type: ignore[attr-defined]
    if not (1.0 <= fs <= 100_000.0) or sig.ndim != 2 or sig.shape[0] == 0 or sig.shape[1] == 0:
        return f"implausible record: fs {fs}, shape {sig.shape}"
    if np.isinf(sig).any():
        return "infinite samples returned"
    finite = np.where(np.isfinite(sig), np.abs(sig), 0.0)
    if finite.max() > 50.0:
        return f"samples up to {finite.max():.3g} mV returned"
    if np.isnan(sig).all(axis=0).any():
        return "a lead without any sample returned"
    return None


def _selftest(mode: str, limit: float) -> None:
    """Misbehaviours the harness must catch (tests/test_io_fuzz_bounded.py checks it does)."""
    import os
    import time

    if mode == "hang":
        time.sleep(limit + 30)
    elif mode == "die":
        os._exit(3)
    elif mode == "alloc":
        bytearray(8 * 1024**3)
    elif mode == "slow":
        time.sleep(limit + 0.2)
        raise ValueError("slow")


def classify(path: Path, selftest: str | None = None,
             limit: float = PER_FILE_SECONDS) -> tuple[str, str]:
    """Read one file: ("refused", problem), ("plausible", summary) or ("violation", why)."""
    from ecglens.exceptions import ECGFormatError
    from ecglens.io import registry

    try:
        if selftest:
            _selftest(selftest, limit)
        ecg = registry.read(path)
    except ECGFormatError as exc:
        if isinstance(exc.__cause__, MemoryError):
            return "violation", f"allocation failed instead of a refusal: {exc.problem}"
        if not exc.problem or "\n" in str(exc):
            return "violation", f"malformed message: {exc!r}"
        return "refused", exc.problem
    except _Hang:
        raise
    except BaseException as exc:  # noqa: BLE001 - the point: nothing else may escape
        return "violation", f"{type(exc).__name__} escaped: {str(exc)[:200]}"
    problem = plausibility_problem(ecg)
    if problem is not None:
        return "violation", problem
    return "plausible", f"{ecg.n_leads} leads × {ecg.n_samples} at {ecg.fs:g} Hz"


class _Hang(Exception):
    pass


def _worker(jobs_file: str) -> None:
    """Read every job of ``jobs_file``; print one JSON line as each starts and ends."""
    import json
    import signal as signals
    import time

    import ecglens.io.registry  # noqa: F401 - imported before the cap and the clock start

    for name in FORMATS.values():
        importlib.import_module(name[0])
    with open("/proc/self/statm") as fh:
        vm = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + ADDRESS_SPACE_HEADROOM, resource.RLIM_INFINITY))

    def on_alarm(signum: int, frame: object) -> None:
        raise _Hang

    signals.signal(signals.SIGALRM, on_alarm)
    jobs = json.loads(Path(jobs_file).read_text())
    for job in jobs:
        print(json.dumps({"start": job["id"]}), flush=True)
        limit = float(job.get("limit_s", PER_FILE_SECONDS))
        t0 = time.perf_counter()
        signals.alarm(int(limit) + 1)
        try:
            outcome, detail = classify(Path(str(job["path"])), job.get("selftest"), limit)
        except _Hang:
            outcome, detail = "violation", "no answer within the time limit"
        finally:
            signals.alarm(0)
        elapsed = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if elapsed > limit:
            outcome, detail = "violation", f"took {elapsed:.1f} s ({detail})"
        elif rss > PER_FILE_RSS_BYTES:
            outcome, detail = "violation", f"peak RSS {rss / 2**20:.0f} MB ({detail})"
            print(json.dumps({"done": job["id"], "outcome": outcome, "detail": detail,
                              "s": elapsed}), flush=True)
            return  # the peak stays: later files could not be judged
        print(json.dumps({"done": job["id"], "outcome": outcome, "detail": detail[:300],
                          "s": elapsed}), flush=True)


def read_in_subprocess(jobs: list[dict[str, object]], workdir: Path, *,
                       timeout: float) -> dict[int, dict]:  # type: ignore[type-arg]
    """Run ``classify`` on every job's ``path`` in a child process under the limits.

    A child that dies or runs past ``timeout`` has its current file counted as a violation;
    a new child goes on with the rest.
    """
    import json
    import subprocess

    results: dict[int, dict] = {}  # type: ignore[type-arg]
    pending = list(jobs)
    attempt = 0
    while pending:
        attempt += 1
        jobs_file = workdir / f"jobs{attempt}.json"
        jobs_file.write_text(json.dumps(pending))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(jobs_file)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
            out, err, code = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err, code = "timeout", -9
        current = None
        for line in out.splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "start" in msg:
                current = msg["start"]
            elif "done" in msg:
                results[msg["done"]] = msg
                current = None
        if current is not None and current not in results:
            results[current] = {"done": current, "outcome": "violation",
                                "detail": f"reader process died (exit {code}): "
                                          f"{err.strip()[-300:]}"}
        left = [j for j in pending if j["id"] not in results]
        if len(left) == len(pending):
            raise RuntimeError(f"fuzz worker made no progress (exit {code}): {err[-2000:]}")
        pending = left
    return results


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    _worker(sys.argv[2])  # run as a file by read_in_subprocess; it imports nothing of tests
