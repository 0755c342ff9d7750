"""Hostile numbers in the header fields that size or scale the signal, for every format:
sample counts, lead counts, sampling rates, scales and byte counts set to 0, -1, NaN, 1e308 or
billions. Each file must end in a typed refusal or a sane ECG, never a crash, and never an
allocation sized by the hostile number (checked under an address-space cap).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from ecglens.exceptions import ECGFormatError
from ecglens.io import registry
from tests.helpers.io_seeds import (
    ALL_FORMATS,
    all_seed_records,
    copy_record,
    fix_scp_crcs,
    memory_cap,
    require_reader,
)


@pytest.fixture(scope="module")
def seeds(formats_dir: Path,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[Path]]]:
    return all_seed_records(formats_dir, tmp_path_factory.mktemp("seeds"))


HOSTILE = ["0", "-1", "NaN", "1e308", "99999999999", "4294967296"]


def _sub_first(data: bytes, pattern: bytes, new: str, *, after: bytes = b"") -> bytes:
    """Replace group 1 of the first match of ``pattern`` after ``after`` (which must match)."""
    m = re.compile(pattern).search(data, data.find(after) if after else 0)
    assert m is not None, pattern
    return data[:m.start(1)] + new.encode() + data[m.end(1):]


def _text_field_variants(fmt: str, formats_dir: Path) -> list[tuple[str, Path, bytes]]:
    """(label, seed file, mutated bytes) for the fields each text format sizes its signal by."""
    # GE stores the median beat first; the rhythm waveform is the one read
    after = {"ge-muse": b"<WaveformType>Rhythm"}.get(fmt, b"")
    fields: dict[str, tuple[str, list[bytes], list[str]]] = {
        "ge-muse": ("ge-muse/guangxi_teaching_sinus_rhythm.xml", [
            rb"<%s>\s*([-\d.]+)\s*</" % t for t in (
                b"SampleBase", b"SampleExponent", b"LeadSampleCountTotal", b"LeadByteCountTotal",
                b"LeadAmplitudeUnitsPerBit", b"NumberofLeads", b"LeadOffsetFirstSample")
        ], HOSTILE),
        "hl7-aecg": ("hl7-aecg/minimum_aecg.xml", [
            rb"<increment[^>]*value=\"([^\"]*)\"", rb"<scale[^>]*value=\"([^\"]*)\"",
            rb"<origin[^>]*value=\"([^\"]*)\"", rb"<digits>\s*([-\d. ]{1,20})",
        ], HOSTILE),
        "philips-sierra": ("philips-sierra/129DYPRG.XML", [
            rb"<samplingrate>\s*([-\d.]+)\s*<", rb"durationperchannel=\"([^\"]*)\"",
            rb"<numberchannelsallocated>\s*([-\d.]+)\s*<",
        ], ["0", "-1", "99999999999"]),  # fewer: an intact Philips read costs ~0.7 s
        "wfdb": ("physionet-challenge/E07500.hea", [
            rb"^E07500 (12) ", rb"^E07500 12 (500) ", rb"^E07500 12 500 (5000)",
            rb"\nE07500.mat (16)x", rb"\nE07500.mat 16x(1)\+", rb"\nE07500.mat 16x1\+(24) ",
            rb"\nE07500.mat 16x1\+24 (1000.0)\(", rb"\nE07500.mat 16x1\+24 1000.0\((0)\)",
            rb"/mV (16) ", rb"/mV 16 (0) ",
        ], HOSTILE),
    }
    rel, patterns, values = fields[fmt]
    seed = formats_dir / rel
    data = seed.read_bytes()
    return [
        (f"{pat[:40]!r}={v}", seed, _sub_first(data, pat, v, after=after))
        for pat in patterns for v in values
    ]


def _edf_variants(edf: Path) -> list[tuple[str, bytes]]:
    data = edf.read_bytes()
    ns = int(data[252:256])
    base = 256
    offsets = {
        "n_records": (236, 8), "record_duration": (244, 8), "n_signals": (252, 4),
        "physical_min": (base + ns * 104, 8), "physical_max": (base + ns * 112, 8),
        "digital_min": (base + ns * 120, 8), "digital_max": (base + ns * 128, 8),
        "samples_per_record": (base + ns * 216, 8),
    }
    out = []
    for name, (at, width) in offsets.items():
        for v in HOSTILE:
            out.append((f"{name}={v}",
                        data[:at] + v.encode()[:width].ljust(width) + data[at + width:]))
    return out


def _dicom_variants(dcm: Path) -> list[tuple[str, bytes]]:

    import pydicom

    values: dict[str, list[object]] = {
        "NumberOfWaveformSamples": [0, 1, 99_999_999, 4_294_967_295],  # UL
        "NumberOfWaveformChannels": [0, 1, 255, 65535],  # US
        "WaveformBitsAllocated": [0, 1, 64, 65535],  # US
        "SamplingFrequency": list(HOSTILE),  # DS
    }
    out = []
    for keyword, vs in values.items():
        for v in vs:
            ds = pydicom.dcmread(dcm)
            setattr(ds.WaveformSequence[0], keyword, v)
            buf = io.BytesIO()
            ds.save_as(buf)
            out.append((f"{keyword}={v}", buf.getvalue()))
    return out


def _npz_variants(npz: Path) -> list[tuple[str, bytes]]:
    import zipfile

    with zipfile.ZipFile(npz) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    shape = re.search(rb"'shape': (\([^)]*\))", members["signal.npy"])
    assert shape is not None
    variants = {f"shape={s}":
                {"signal.npy": members["signal.npy"].replace(shape.group(1), s.encode())}
                for s in ("(4294967296, 12)", "(99999999999999999999, 12)", "(50000000, 12)",
                          "(-5000, 12)", "(5000, 13)", "(5000000, 12)")}
    for v in HOSTILE:
        b = io.BytesIO()
        np.save(b, np.float64(v))
        variants[f"fs={v}"] = {"fs.npy": b.getvalue()}
    out = []
    for label, changed in variants.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for n, content in {**members, **changed}.items():
                zf.writestr(n, content)
        out.append((label, buf.getvalue()))
    return out


def _scp_variants(scp: Path) -> list[tuple[str, bytes]]:
    """Lead table (Section 3) and rhythm header (Section 6) fields, CRCs recomputed so the
    values reach the decoder instead of being stopped by the checksum."""
    data = scp.read_bytes()
    sec0 = data[6 + 16: 6 + int.from_bytes(data[10:14], "little")]
    offset = {}
    for pos in range(0, len(sec0) - 9, 10):
        sid, length, index = (int.from_bytes(sec0[pos:pos + 2], "little"),
                              int.from_bytes(sec0[pos + 2:pos + 6], "little"),
                              int.from_bytes(sec0[pos + 6:pos + 10], "little"))
        if length:
            offset[sid] = index - 1 + 16  # start of the section body
    s3, s6 = offset[3], offset[6]
    fields = {  # name: (position, width)
        "n_leads": (s3, 1), "lead1_start": (s3 + 2, 4), "lead1_end": (s3 + 6, 4),
        "avm_nV": (s6, 2), "sample_interval_us": (s6 + 2, 2), "lead1_bytes": (s6 + 6, 2),
    }
    out = []
    for name, (at, width) in fields.items():
        for v in (0, 1, 2 ** (8 * width) - 1, 2 ** (8 * width - 1)):
            mutated = data[:at] + v.to_bytes(width, "little") + data[at + width:]
            out.append((f"{name}={v}", fix_scp_crcs(mutated)))
    return out


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_hostile_header_numbers(
    fmt: str, seeds: dict[str, list[list[Path]]], formats_dir: Path, tmp_path: Path
) -> None:
    """Sample counts, sampling rates, lead counts and scales set to 0, -1, NaN, 1e308 or
    billions: either a typed refusal or a sane ECG, never a crash or an allocation from the
    hostile number."""
    require_reader(fmt)
    record = seeds[fmt][0]
    if fmt in ("ge-muse", "hl7-aecg", "philips-sierra", "wfdb"):
        variants = [(label, data) for label, _, data in _text_field_variants(fmt, formats_dir)]
    elif fmt == "edf":
        variants = _edf_variants(record[0])
    elif fmt == "dicom":
        variants = _dicom_variants(record[0])
    elif fmt == "numpy":
        variants = _npz_variants(record[0])
    elif fmt == "scp-ecg":
        variants = _scp_variants(record[0])
    else:  # csv
        text = record[0].read_bytes()
        variants = [(f"fs={v}", _sub_first(text, rb"# fs=([^\n]*)", v)) for v in HOSTILE]
    assert len(variants) >= 6
    refused = 0
    for i, (label, data) in enumerate(variants):
        main = copy_record(record, tmp_path / str(i))
        main.write_bytes(data)
        try:
            with memory_cap():
                ecg = registry.read(main)
        except ECGFormatError as exc:
            assert not isinstance(exc.__cause__, MemoryError), f"{label}: allocated before refusing"
            assert str(main) in str(exc) and "\n" not in str(exc), label
            refused += 1
            continue
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{label}: {type(exc).__name__} escaped: {exc}")
        assert 1 <= ecg.fs <= 100_000 and ecg.n_samples >= 1, label
    assert refused >= len(variants) // 3, \
        f"only {refused} of {len(variants)} hostile values refused"
