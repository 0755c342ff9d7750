"""Regression tests of the readers' hardening: one or more per defect, each failing on the code
before the fix. Hostile files are built here from the real files (and the seeds of
``io_seeds``); every refusal must be a typed ECGFormatError, quick, and not an allocation
failure under a tight address-space cap.

1. Philips Sierra LZW decompression bombs (absolute output cap, incremental check).
2. WFDB skew, byte offsets, sample and signal counts bounded before allocating.
3. Sampling rates that are not a finite number within the limits, in every reader.
4. Non-finite or absurd samples and scale fields; NaN only as a missing sample.
5. Oversized XML tokens (expat < 2.6 large-token rescans, CVE-2023-52425).
"""

from __future__ import annotations

import base64
import io
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ecglens.exceptions import ECGFormatError
from ecglens.io import registry, validate, xli, xmlsafe
from ecglens.io.limits import (
    MAX_ABS_MV,
    MAX_DECOMPRESSED_SAMPLES_PER_LEAD,
    MAX_WFDB_SKEW_FRAMES,
    MAX_XML_TOKEN_BYTES,
)
from tests.helpers.io_seeds import (
    all_seed_records,
    copy_record,
    fix_scp_crcs,
    lzw_pack,
    memory_cap,
)

#: address space a hostile read may add to the test process: the old code needed gigabytes
TIGHT = 768 * 2**20


@pytest.fixture(scope="module")
def seeds(formats_dir: Path,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[Path]]]:
    return all_seed_records(formats_dir, tmp_path_factory.mktemp("seeds"))


def refused(path: Path, *, format: str | None = None, within_s: float = 5.0,
            headroom: int = TIGHT) -> ECGFormatError:
    """``read`` refuses ``path`` with ECGFormatError, quickly, without an allocation failing."""
    start = time.perf_counter()
    try:
        with memory_cap(headroom):
            registry.read(path, format=format)
    except ECGFormatError as exc:
        err = exc
    else:
        pytest.fail(f"{path.name}: read without error")
    elapsed = time.perf_counter() - start
    assert not isinstance(err.__cause__, MemoryError), f"allocated before refusing: {err}"
    assert elapsed < within_s, f"refusal took {elapsed:.1f} s: {err}"
    assert str(path) in str(err) and "\n" not in str(err)
    return err


def _sub(data: bytes, pattern: bytes, new: bytes, count: int = 1) -> bytes:
    out, n = re.subn(pattern, new, data, count=count)
    assert n, pattern
    return out


# --- 1. Philips Sierra: LZW decompression bombs ------------------------------------------------


def _lzw_bomb(n_repeats: int) -> bytes:
    """'A', then codes 256..1022 (each the previous string plus 'A': 2..768 bytes), then code
    1022 over and over: every 10 bits of input expand to 768 bytes of output."""
    return lzw_pack([65, *range(256, 1023), *([1022] * n_repeats)])


def _sierra_with(formats_dir: Path, chunks: list[bytes], duration_ms: str) -> bytes:
    """The real 129DYPRG.XML with its XLI waveform replaced by ``chunks`` (one per lead)."""
    data = (formats_dir / "philips-sierra" / "129DYPRG.XML").read_bytes()
    xli = b"".join(len(c).to_bytes(4, "little") + b"\0\0" + (0).to_bytes(2, "little") + c
                   for c in chunks)
    data = _sub(data, rb'durationperchannel="\d+"',
                b'durationperchannel="%s"' % duration_ms.encode())
    return _sub(data, rb"(<parsedwaveforms[^>]*>)[^<]+(</parsedwaveforms>)",
                rb"\g<1>" + base64.b64encode(xli) + rb"\g<2>")


def test_sierra_lzw_bomb_with_huge_declared_duration_is_refused_quickly(formats_dir: Path,
                                                                        tmp_path: Path) -> None:
    """The reported file: ~700 KB, durationperchannel="2000000000", a long run of one repeated
    LZW code. It took 72 s and 2.4 GB before being refused: the output guard trusted the header."""
    p = tmp_path / "bomb.xml"
    p.write_bytes(_sierra_with(formats_dir, [_lzw_bomb(400_000)], "2000000000"))
    assert 500_000 < p.stat().st_size < 1_000_000
    err = refused(p, within_s=3)
    assert "durationperchannel" in err.problem


def test_sierra_lzw_bomb_stops_at_the_absolute_cap(formats_dir: Path, tmp_path: Path) -> None:
    """With a header at the cap, the decoder itself must stop as soon as its output passes it."""
    duration = MAX_DECOMPRESSED_SAMPLES_PER_LEAD * 1000 // 500  # at the file's 500 Hz
    p = tmp_path / "bomb_at_cap.xml"
    p.write_bytes(_sierra_with(formats_dir, [_lzw_bomb(400_000)], str(duration)))
    err = refused(p, within_s=3)
    assert "expands beyond" in err.problem and "chunk 1" in err.problem
    # and one beyond the cap is refused from the header alone
    p.write_bytes(_sierra_with(formats_dir, [_lzw_bomb(10)] * 12, str(duration + 2)))
    assert "durationperchannel" in refused(p).problem


def test_lzw_decoder_checks_its_output_after_every_code() -> None:
    bomb = _lzw_bomb(550_000)  # 425 MB if decoded to the end
    for limit in (0, 1, 1000, 300_000):
        start = time.perf_counter()
        with pytest.raises(xli._LzwTooLong):
            xli.lzw_decode(bomb, limit)
        assert time.perf_counter() - start < 1.0


def test_sierra_decoder_matches_sierraecg_on_the_real_files(formats_dir: Path) -> None:
    """Our bounded LZW + vectorised XLI give exactly what sierraecg's decoder gives."""
    from sierraecg.lzw import LzwDecoder
    from sierraecg.xli import xli_decode_deltas

    from ecglens.io import xmlsupport as xs

    n_chunks = 0
    for name in ("129DYPRG.XML", "3191723_ZZDEMOPTONLY_1-04_orig.xml"):
        pw = next(xs.descendants(xs.parse(formats_dir / "philips-sierra" / name),
                                 "parsedwaveforms"))
        data = base64.b64decode(pw.text or "")
        offset = 0
        while offset + 8 <= len(data):
            size = int.from_bytes(data[offset:offset + 4], "little", signed=True)
            first = int.from_bytes(data[offset + 6:offset + 8], "little", signed=True)
            chunk = data[offset + 8:offset + 8 + size]
            decoder = LzwDecoder(chunk, bits=10)
            expected = bytearray()
            while (b := decoder.read()) != -1:
                expected.append(b)
            assert xli.lzw_decode(chunk, 10**7) == bytes(expected)
            samples = xli.xli_samples(bytes(expected[:11000]), first)
            assert samples is not None
            decoded = xli_decode_deltas(list(expected[:11000]), first)
            np.testing.assert_array_equal(samples, np.asarray(decoded))
            offset += 8 + size
            n_chunks += 1
    assert n_chunks == 32


def test_validate_is_the_bounded_upload_check(formats_dir: Path, tmp_path: Path) -> None:
    """``validate`` answers with the format, or with the refusal ``read`` would give, in seconds."""
    assert validate(formats_dir / "philips-sierra" / "129DYPRG.XML") == "philips-sierra"
    p = tmp_path / "bomb.xml"
    p.write_bytes(_sierra_with(formats_dir, [_lzw_bomb(400_000)], "2000000000"))
    start = time.perf_counter()
    with memory_cap(TIGHT), pytest.raises(ECGFormatError):
        validate(p)
    assert time.perf_counter() - start < 3


# --- 2. WFDB: skew, byte offsets, counts ------------------------------------------------------


def _wfdb(formats_dir: Path, tmp_path: Path, edit: Callable[[str], str],
          name: str = "E07500") -> Path:
    src = formats_dir / "physionet-challenge"
    main = copy_record([src / f"{name}.hea", src / f"{name}.mat"], tmp_path)
    text = main.read_text()
    new = edit(text)
    assert new != text
    main.write_text(new)
    return main


def test_wfdb_huge_skew_refused_before_allocating(formats_dir: Path, tmp_path: Path) -> None:
    """Skew 99999999 took 10 s and 2.3 GB, then 'succeeded' with lead I all NaN."""
    main = _wfdb(formats_dir, tmp_path, lambda t: t.replace("16x1+24", "16x1:99999999+24", 1))
    err = refused(main)
    assert "skew" in err.problem and "I" in err.problem


@pytest.mark.parametrize("skew", [MAX_WFDB_SKEW_FRAMES + 1, 5000])
def test_wfdb_skew_beyond_limit_or_record_refused(formats_dir: Path, tmp_path: Path,
                                                  skew: int) -> None:
    main = _wfdb(formats_dir, tmp_path, lambda t: t.replace("16x1+24", f"16x1:{skew}+24", 1))
    assert "skew" in refused(main).problem


def test_wfdb_small_skew_still_reads(formats_dir: Path, tmp_path: Path) -> None:
    main = _wfdb(formats_dir, tmp_path, lambda t: t.replace("16x1+24", "16x1:2+24", 1))
    ecg = registry.read(main)
    assert ecg.n_samples == 5000 and np.isfinite(ecg.signal[:4990]).all()


@pytest.mark.parametrize(("label", "edit", "word"), [
    ("byte offset past the file", lambda t: t.replace("16x1+24", "16x1+999999"), "byte"),
    ("signals", lambda t: t.replace("E07500 12 500 5000", "E07500 300 500 5000", 1), "signals"),
    ("samples per frame", lambda t: t.replace("16x1+24", "16x99999+24", 1), "samples per frame"),
    ("samples",
     lambda t: t.replace("E07500 12 500 5000", "E07500 12 500 5000000000", 1), "samples"),
])
def test_wfdb_implausible_counts_refused_naming_the_field(
    formats_dir: Path, tmp_path: Path, label: str, edit: Callable[[str], str], word: str
) -> None:
    main = _wfdb(formats_dir, tmp_path, edit)
    assert word in refused(main).problem, label


def test_wfdb_fields_vetted_in_the_reader_itself(formats_dir: Path, tmp_path: Path) -> None:
    """``wfdb_format.read`` (not only ``registry.read``) vets before numpy or wfdb allocate."""
    from ecglens.io import wfdb_format

    for i, edit in enumerate([lambda t: t.replace("16x1+24", "16x1:99999999+24", 1),
                              lambda t: t.replace("E07500 12 500", "E07500 12 nan", 1)]):
        main = _wfdb(formats_dir, tmp_path / str(i), edit)
        with memory_cap(TIGHT), pytest.raises(ECGFormatError):
            wfdb_format.read(main)
        with memory_cap(TIGHT), pytest.raises(ECGFormatError):
            wfdb_format.read_with_wfdb(main)


# --- 3. sampling rates --------------------------------------------------------------------------


@pytest.mark.parametrize("fs", ["nan", "abc", "-5", "1e9", "0", "200000"])
def test_wfdb_unparseable_sampling_rate_refused(formats_dir: Path, tmp_path: Path, fs: str) -> None:
    """nan, abc and -5 were read at wfdb's default 250 Hz, 1e9 at 1 Hz."""
    main = _wfdb(formats_dir, tmp_path, lambda t: t.replace("E07500 12 500", f"E07500 12 {fs}", 1))
    assert "sampling" in refused(main).problem


def test_wfdb_absent_sampling_rate_is_the_documented_default(tmp_path: Path) -> None:
    """The WFDB spec gives 250 Hz to a record line without one: that is not a substitution."""
    (tmp_path / "r.dat").write_bytes(np.arange(200, dtype="<i2").tobytes())
    (tmp_path / "r.hea").write_text("r 1\nr.dat 16 200/mV 16 0 0 0 0 I\n")
    assert registry.read(tmp_path / "r.hea").fs == 250.0


def _npz(seed: Path, **changed: object) -> bytes:
    with np.load(seed) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update({k: np.asarray(v) for k, v in changed.items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _edf_field(data: bytes, name: str, value: str, signal: int | None = None) -> bytes:
    ns = int(data[252:256])
    at, width = {"record_duration": (244, 8), "physical_min": (256 + ns * 104, 8),
                 "physical_max": (256 + ns * 112, 8)}[name]
    if signal is None:
        signals = range(1) if name == "record_duration" else range(ns)
    else:
        signals = range(signal, signal + 1)
    for i in signals:
        pos = at + (i * width if name != "record_duration" else 0)
        data = data[:pos] + value.encode()[:width].ljust(width) + data[pos + width:]
    return data


def _dicom(seed: Path, edit: Callable[[object], None]) -> bytes:
    import pydicom

    ds = pydicom.dcmread(seed)
    edit(ds.WaveformSequence[0])
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def _scp_interval(data: bytes, interval_us: int) -> bytes:
    sec0 = data[6 + 16: 6 + int.from_bytes(data[10:14], "little")]
    for pos in range(0, len(sec0) - 9, 10):
        if int.from_bytes(sec0[pos:pos + 2], "little") == 6:
            s6 = int.from_bytes(sec0[pos + 6:pos + 10], "little") - 1 + 16
            return fix_scp_crcs(data[:s6 + 2] + interval_us.to_bytes(2, "little") + data[s6 + 4:])
    raise AssertionError("no Section 6")


def _set(attr: str, value: object) -> Callable[[object], None]:
    return lambda group: setattr(group, attr, value)


def _set_channel(attr: str, value: object) -> Callable[[object], None]:
    def edit(group: object) -> None:
        setattr(group.ChannelDefinitionSequence[0], attr, value)  # type: ignore[attr-defined]
    return edit


#: (format, label, builder(seed bytes or path) -> bytes, word the message must hold)
FS_CASES: list[tuple[str, str, Callable[[Path], bytes], str]] = [
    ("csv", "fs=nan", lambda p: _sub(p.read_bytes(), rb"# fs=[^\n]*", b"# fs=nan"), "fs="),
    ("csv", "fs=-5", lambda p: _sub(p.read_bytes(), rb"# fs=[^\n]*", b"# fs=-5"), "fs="),
    ("csv", "fs=1e9", lambda p: _sub(p.read_bytes(), rb"# fs=[^\n]*", b"# fs=1e9"), "fs="),
    ("numpy", "fs=nan", lambda p: _npz(p, fs=np.float64("nan")), "fs"),
    ("numpy", "fs=inf", lambda p: _npz(p, fs=np.float64("inf")), "fs"),
    ("numpy", "fs=1e9", lambda p: _npz(p, fs=np.float64(1e9)), "fs"),
    ("edf", "duration=nan",
     lambda p: _edf_field(p.read_bytes(), "record_duration", "nan"), "duration"),
    ("edf", "duration=1e-9",
     lambda p: _edf_field(p.read_bytes(), "record_duration", "1e-9"), "duration"),
    ("dicom", "SamplingFrequency=nan", lambda p: _dicom(p, _set("SamplingFrequency", "nan")),
     "SamplingFrequency"),
    ("dicom", "SamplingFrequency=-5", lambda p: _dicom(p, _set("SamplingFrequency", -5)),
     "SamplingFrequency"),
    ("dicom", "SamplingFrequency=1e9", lambda p: _dicom(p, _set("SamplingFrequency", "1e9")),
     "SamplingFrequency"),
    ("hl7-aecg", "increment=1e-9", lambda p: _sub(p.read_bytes(), rb'<increment value="[^"]*"',
                                                  b'<increment value="1e-9"'), "increment"),
    ("hl7-aecg", "increment=nan", lambda p: _sub(p.read_bytes(), rb'<increment value="[^"]*"',
                                                 b'<increment value="nan"'), "increment"),
    ("ge-muse", "SampleBase=1e9",
     lambda p: _sub(p.read_bytes(), rb"<SampleBase>500<", b"<SampleBase>1e9<", 2),
     "SampleBase"),
    ("ge-muse", "SampleExponent=abc", lambda p: _sub(p.read_bytes(), rb"<SampleExponent>0<",
                                                     b"<SampleExponent>abc<", 2), "SampleExponent"),
    ("philips-sierra", "samplingrate=abc", lambda p: _sub(p.read_bytes(), rb"<samplingrate>500<",
                                                          b"<samplingrate>abc<"), "samplingrate"),
    ("philips-sierra", "samplingrate=1e9", lambda p: _sub(p.read_bytes(), rb"<samplingrate>500<",
                                                          b"<samplingrate>1e9<"), "samplingrate"),
    ("scp-ecg", "interval=1us", lambda p: _scp_interval(p.read_bytes(), 1), "interval"),
]


def _case_id(case: tuple) -> str:  # type: ignore[type-arg]
    return f"{case[0]}-{case[1]}"


def _refused_seed(record: list[Path], build: Callable[[Path], bytes],
                  tmp_path: Path) -> ECGFormatError:
    """The error reading a copy of a seed record whose main file ``build`` rewrote."""
    main = copy_record(record, tmp_path)
    main.write_bytes(build(record[0]))
    return refused(main)


@pytest.mark.parametrize("case", FS_CASES, ids=_case_id)
def test_sampling_rate_not_finite_or_out_of_range_refused(
    case: tuple, seeds: dict[str, list[list[Path]]], tmp_path: Path  # type: ignore[type-arg]
) -> None:
    fmt, label, build, word = case
    err = _refused_seed(seeds[fmt][0], build, tmp_path)
    assert word.lower() in err.problem.lower(), f"{label}: {err.problem}"


def test_sierra_invalid_rate_attribute_is_not_replaced_by_another_field(
    formats_dir: Path, tmp_path: Path
) -> None:
    """A present but unparseable ``samplespersecond`` used to fall back to <samplingrate>."""
    data = (formats_dir / "philips-sierra" / "3191723_ZZDEMOPTONLY_1-04_orig.xml").read_bytes()
    text = data.decode("utf-16")
    assert 'samplespersecond="500"' in text
    p = tmp_path / "x.xml"
    bad = text.replace('samplespersecond="500"', 'samplespersecond="abc"', 1)
    p.write_bytes(bad.encode("utf-16"))
    assert "samplespersecond" in refused(p).problem


# --- 4. non-finite and absurd samples; NaN only as a missing sample --------------------------


def _csv_cell(p: Path, value: str, column: int = 1) -> bytes:
    lines = p.read_text().splitlines()
    body_start = next(i for i, ln in enumerate(lines) if not ln.startswith("#")) + 1
    cells = lines[body_start + 10].split(",")
    cells[column] = value
    lines[body_start + 10] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


def _csv_column(p: Path, value: str, column: int = 0) -> bytes:
    lines = p.read_text().splitlines()
    out = []
    for i, ln in enumerate(lines):
        if ln.startswith("#") or i == next(j for j, x in enumerate(lines) if not x.startswith("#")):
            out.append(ln)
            continue
        cells = ln.split(",")
        cells[column] = value
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()


def _npz_signal(p: Path, value: float) -> bytes:
    with np.load(p) as npz:
        signal = npz["signal"].copy()
    signal[100, 2] = value
    return _npz(p, signal=signal)


def _muse_units_per_bit(p: Path, value: bytes) -> bytes:
    data = p.read_bytes()
    rhythm = data.index(b"<WaveformType>Rhythm")
    return data[:rhythm] + _sub(data[rhythm:], rb"<LeadAmplitudeUnitsPerBit>[^<]*<",
                                b"<LeadAmplitudeUnitsPerBit>" + value + b"<")


#: (format, label, builder, words the message must hold: the lead and/or the field)
SAMPLE_CASES: list[tuple[str, str, Callable[[Path], bytes], list[str]]] = [
    ("csv", "inf cell", lambda p: _csv_cell(p, "inf"), ["lead II", "infinite"]),
    ("csv", "1e308 cell", lambda p: _csv_cell(p, "1e308"), ["lead II", "mV"]),
    ("csv", "nan column", lambda p: _csv_column(p, "nan"), ["lead I", "no recorded sample"]),
    ("numpy", "inf sample", lambda p: _npz_signal(p, np.inf), ["lead III", "infinite"]),
    ("numpy", "1e308 sample", lambda p: _npz_signal(p, 1e308), ["lead III", "mV"]),
    ("edf", "physical min nan",
     lambda p: _edf_field(p.read_bytes(), "physical_min", "nan", 0), ["physical"]),
    ("edf", "physical max 1e308", lambda p: _edf_field(p.read_bytes(), "physical_max", "1e308", 0),
     ["physical"]),
    ("dicom", "sensitivity inf", lambda p: _dicom(p, _set_channel("ChannelSensitivity", "inf")),
     ["channel 1", "ChannelSensitivity"]),
    ("dicom", "sensitivity 0", lambda p: _dicom(p, _set_channel("ChannelSensitivity", "0")),
     ["channel 1", "ChannelSensitivity"]),
    ("dicom", "baseline -1e308", lambda p: _dicom(p, _set_channel("ChannelBaseline", "-1e308")),
     ["channel 1", "ChannelBaseline"]),
    ("wfdb", "gain 1e-300", lambda p: p.read_bytes().replace(b"1000.0(0)/mV", b"1e-300(0)/mV", 1),
     ["I", "gain"]),
    ("wfdb", "baseline 1e11",
     lambda p: p.read_bytes().replace(b"1000.0(0)/mV", b"1000.0(100000000000)/mV", 1),
     ["I", "baseline"]),
    ("ge-muse", "units per bit 9999999999", lambda p: _muse_units_per_bit(p, b"9999999999"),
     ["LeadAmplitudeUnitsPerBit"]),
    ("philips-sierra", "signalresolution 2e14 uV",
     lambda p: _sub(p.read_bytes(), rb"<signalresolution>5<", b"<signalresolution>2e14<"),
     ["signalresolution"]),
    ("hl7-aecg", "scale 1e12 uV",
     lambda p: _sub(p.read_bytes(), rb'<scale value="[^"]*"', b'<scale value="1e12"'),
     ["scale"]),
    ("hl7-aecg", "origin 1e9 uV",
     lambda p: _sub(p.read_bytes(), rb'<origin value="[^"]*"', b'<origin value="1e9"'),
     ["origin"]),
]


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=_case_id)
def test_absurd_samples_or_scale_fields_refused_naming_lead_or_field(
    case: tuple, seeds: dict[str, list[list[Path]]], tmp_path: Path  # type: ignore[type-arg]
) -> None:
    fmt, label, build, words = case
    err = _refused_seed(seeds[fmt][0], build, tmp_path)
    for word in words:
        assert word in err.problem, f"{label}: {err.problem}"


def test_central_check_names_the_lead_whatever_the_reader(tmp_path: Path) -> None:
    """Plausible scale fields, absurd values: the registry's check after the reader refuses."""
    p = tmp_path / "x.npz"
    signal = np.zeros((1000, 3))
    signal[5, 1] = MAX_ABS_MV * 1.01
    np.savez(p, signal=signal, fs=np.float64(500), leads=np.asarray(["I", "II", "V1"]))
    assert "lead II" in refused(p).problem
    signal[5, 1] = -MAX_ABS_MV  # the limit itself is allowed
    np.savez(p, signal=signal, fs=np.float64(500), leads=np.asarray(["I", "II", "V1"]))
    assert registry.read(p).n_leads == 3


def test_wfdb_missing_samples_are_nan_and_an_all_missing_lead_is_refused(
    formats_dir: Path, tmp_path: Path
) -> None:
    """-32768 in format 16 is WFDB's 'no sample': NaN in the record (the documented contract);
    a lead with no sample at all is refused, not returned as a lead of NaN."""
    src = formats_dir / "physionet-challenge"
    hea = (src / "E07500.hea").read_text()
    raw = bytearray((src / "E07500.mat").read_bytes())
    digital = np.frombuffer(bytes(raw[24:]), dtype="<i2").reshape(5000, 12).copy()
    digital[100:200, 3] = -32768
    (tmp_path / "E07500.hea").write_text(hea)
    (tmp_path / "E07500.mat").write_bytes(bytes(raw[:24]) + digital.tobytes())
    ecg = registry.read(tmp_path / "E07500.hea")
    assert np.isnan(ecg.signal[100:200, 3]).all() and np.isfinite(ecg.signal[:100]).all()
    digital[:, 3] = -32768
    (tmp_path / "E07500.mat").write_bytes(bytes(raw[:24]) + digital.tobytes())
    err = refused(tmp_path / "E07500.hea")
    assert "lead aVR" in err.problem and "no recorded sample" in err.problem


def test_csv_missing_cells_are_nan(seeds: dict[str, list[list[Path]]], tmp_path: Path) -> None:
    """An empty or nan cell is a missing sample (write_csv writes NaN so), not an error."""
    record = seeds["csv"][0]
    main = copy_record(record, tmp_path)
    main.write_bytes(_csv_cell(record[0], "nan"))
    ecg = registry.read(main)
    assert np.isnan(ecg.signal[10, 1]) and np.isnan(ecg.signal).sum() <= 5  # II and derived leads


def test_scp_leads_recorded_in_groups_keep_their_gaps(formats_dir: Path) -> None:
    """SCP-ECG leads recorded one group after another are NaN where not recorded: allowed."""
    for f in sorted((formats_dir / "scp-ecg").glob("*.SCP")):
        ecg = registry.read(f)
        assert not np.isnan(ecg.signal).all(axis=0).any()
        assert np.nanmax(np.abs(ecg.signal)) <= MAX_ABS_MV


# --- 5. XML: oversized tokens -------------------------------------------------------------------

_ROOTS = {"hl7-aecg": b'AnnotatedECG xmlns="urn:hl7-org:v3"', "philips-sierra": b"restingecgdata",
          "ge-muse": b"RestingECG"}


def _big_attribute(root: bytes, size: int) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<' + root + b' comment="' + b"x" * size
            + b'"><a/></' + root.split()[0] + b">")


def test_forty_megabyte_attribute_refused_in_seconds(tmp_path: Path) -> None:
    """One 40 MB attribute took 76 s in root_tag's chunked iterparse (expat 2.5.0)."""
    p = tmp_path / "attr.xml"
    p.write_bytes(_big_attribute(_ROOTS["hl7-aecg"], 40 * 2**20))
    for forced in (None, "hl7-aecg", "philips-sierra", "ge-muse"):
        start = time.perf_counter()
        err = refused(p, format=forced)
        assert time.perf_counter() - start < 5
        assert "MB" in err.problem
    start = time.perf_counter()
    with pytest.raises(ECGFormatError):
        xmlsafe.root_tag(p)
    with pytest.raises(ECGFormatError):
        xmlsafe.parse(p)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("kind", ["text", "comment", "cdata", "utf16-attribute", "pi"])
def test_every_kind_of_oversized_token_refused(kind: str, tmp_path: Path) -> None:
    size = MAX_XML_TOKEN_BYTES + 10
    head = b'<?xml version="1.0"?><RestingECG>'
    body = {
        "text": b"<x>" + b"7" * size + b"</x>",
        "comment": b"<!--" + b"<" * size + b"-->",
        "cdata": b"<x><![CDATA[" + b"<" * size + b"]]></x>",
        "pi": b"<?pi " + b"<" * size + b"?>",
    }
    p = tmp_path / f"{kind}.xml"
    if kind == "utf16-attribute":
        # every character holds the byte 0x3C: the scan must look at code units, not bytes
        doc = ('<?xml version="1.0" encoding="UTF-16"?><RestingECG a="'
               + "\u3c3c" * (size // 2) + '"/>')
        p.write_bytes(doc.encode("utf-16"))
    else:
        p.write_bytes(head + body[kind] + b"</RestingECG>")
    for forced in (None, "ge-muse"):
        err = refused(p, format=forced)
        assert "MB" in err.problem


def test_encoding_where_lt_is_another_byte_refused(tmp_path: Path) -> None:
    """In EBCDIC '<' is 0x4C: a byte scan for 0x3C would see no token at all."""
    p = tmp_path / "ebcdic.xml"
    p.write_bytes(b'<?xml version="1.0" encoding="cp500"?>' + "<RestingECG/>".encode("cp500"))
    assert "encoding" in refused(p, format="ge-muse").problem


def test_token_limit_is_far_above_the_real_files(formats_dir: Path) -> None:
    for f in [*formats_dir.glob("*/*.xml"), *formats_dir.glob("*/*.XML")]:
        xmlsafe.check_tokens(f, f.read_bytes(), limit=MAX_XML_TOKEN_BYTES // 32)


def test_real_xml_files_read_after_the_scan(formats_dir: Path) -> None:
    for rel in ("hl7-aecg/subject1_0.xml", "ge-muse/guangxi_teaching_sinus_rhythm.xml",
                "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml", "philips-sierra/129DYPRG.XML"):
        ecg = registry.read(formats_dir / rel)
        assert ecg.n_leads == 12 and np.isfinite(ecg.signal).all()


def test_npz_member_zip_is_still_vetted(seeds: dict[str, list[list[Path]]], tmp_path: Path) -> None:
    """Guards the helper above: a re-zipped archive with a changed fs is read with that fs."""
    record = seeds["numpy"][0]
    p = tmp_path / "x.npz"
    p.write_bytes(_npz(record[0], fs=np.float64(250)))
    assert zipfile.is_zipfile(p) and registry.read(p).fs == 250
