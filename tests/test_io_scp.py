"""SCP-ECG reader and de-identification, on the three real Welch Allyn files.

The samples are checked against a decoder written here from the standard (default Huffman
table + first differences, which is what the real files use, as asserted below), independent of
the ecgdatakit decoder that ecglens.io.scp uses; and against the device's own Section 7 heart
rate, which pins down the sampling rate and the timing of the decoded beats.
"""

from __future__ import annotations

import binascii
import random
import struct
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks

from ecglens.exceptions import ECGFormatError
from ecglens.io import scp
from ecglens.io.deidentify import DeidOptions
from ecglens.io.deidentify import deidentify as deidentify_any
from ecglens.io.registry import detect_format
from ecglens.io.registry import read as read_any
from ecglens.io.scp_structure import join_tags, parse_layout, rebuild, split_tags
from ecglens.record import STANDARD_LEADS

NAMES = [
    "ECG_20060620_112352_ANON000002.SCP",
    "ECG_20070321_110542_ANON000004.SCP",
    "ECG_20170504_163507_ANON000009.SCP",
]
#: SCP-ECG lead codes (EN 1064 Table 4) of the leads present in these files.
LEAD_CODES = {1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
              9: "V7", 11: "V3R"}


@pytest.fixture(scope="module")
def scp_dir(formats_dir: Path) -> Path:
    return formats_dir / "scp-ecg"


@pytest.fixture(scope="module", params=NAMES)
def scp_file(request: pytest.FixtureRequest, scp_dir: Path) -> Path:
    return scp_dir / request.param


# --- an independent look at the raw bytes ------------------------------------------------------


def _sections(data: bytes) -> dict[int, tuple[int, int]]:
    """Section id -> (0-based offset, length) from the Section 0 pointer table."""
    length0 = struct.unpack_from("<I", data, 10)[0]
    out = {}
    for pos in range(22, min(6 + length0, len(data) - 9), 10):
        sid, length, index = struct.unpack_from("<HII", data, pos)
        if length:
            out[sid] = (index - 1, length)
    return out


def _body(data: bytes, sid: int) -> bytes:
    offset, length = _sections(data)[sid]
    return data[offset + 16: offset + length]


def _crc_ok(data: bytes) -> bool:
    ok = binascii.crc_hqx(data[2:], 0xFFFF) == struct.unpack_from("<H", data, 0)[0]
    for offset, length in _sections(data).values():
        chunk = data[offset: offset + length]
        ok &= binascii.crc_hqx(chunk[2:], 0xFFFF) == struct.unpack_from("<H", chunk, 0)[0]
    return ok


def _default_huffman(chunk: bytes, count: int) -> list[int]:
    """EN 1064 default Huffman table: 0 -> 0; 1^n 0 s -> ±n (n 1..8); 1^9 0 + 8 bits;
    1^10 + 16 bits."""
    bits = "".join(f"{b:08b}" for b in chunk)
    pos, out = 0, []
    while len(out) < count:
        ones = 0
        while ones < 10 and bits[pos] == "1":
            ones += 1
            pos += 1
        if ones == 0:
            out.append(0)
            pos += 1
        elif ones <= 8:
            sign = bits[pos + 1]  # bits[pos] is the terminating 0
            out.append(-ones if sign == "1" else ones)
            pos += 2
        else:
            width = 8 if ones == 9 else 16
            pos += 1 if ones == 9 else 0
            raw = int(bits[pos: pos + width], 2)
            out.append(raw - (1 << width) if raw >= 1 << (width - 1) else raw)
            pos += width
    return out


def _hand_decode(data: bytes) -> tuple[dict[str, np.ndarray], int]:
    """Raw integer samples of every stored lead, and the AVM in nV."""
    sec2, sec3, sec6 = _body(data, 2), _body(data, 3), _body(data, 6)
    # What the real files use, so that the decoder above suffices:
    assert struct.unpack_from("<H", sec2, 0)[0] == 19999, "default Huffman table"
    assert sec3[1] & 0x01 == 0, "no reference beat subtraction"
    avm, interval, diff, bimodal = struct.unpack_from("<HHBB", sec6, 0)
    assert (interval, diff, bimodal) == (1667, 1, 0), "600 Hz, first differences, not bimodal"
    n_leads = sec3[0]
    sizes = struct.unpack_from(f"<{n_leads}H", sec6, 6)
    pos = 6 + 2 * n_leads
    leads = {}
    for i, size in enumerate(sizes):
        start, end, code = struct.unpack_from("<IIB", sec3, 2 + 9 * i)
        diffs = _default_huffman(sec6[pos: pos + size], end - start + 1)
        leads[LEAD_CODES[code]] = np.cumsum(diffs)
        pos += size
    return leads, avm


# --- reading ----------------------------------------------------------------------------------


def test_detected_and_read_through_registry(scp_file: Path) -> None:
    assert detect_format(scp_file) == "scp-ecg"
    ecg = read_any(scp_file)
    assert ecg.source_format == "scp-ecg"


def test_leads_rate_and_length(scp_file: Path) -> None:
    ecg = scp.read(scp_file)
    data = scp_file.read_bytes()
    sec3 = _body(data, 3)
    stored = [LEAD_CODES[sec3[2 + 9 * i + 8]] for i in range(sec3[0])]
    assert ecg.fs == 600.0
    assert ecg.n_samples == 6000
    assert ecg.n_leads == 12
    assert set(ecg.leads) == set(stored) | {"III", "aVR", "aVL", "aVF"}
    if set(stored) == {"I", "II", "V1", "V2", "V3", "V4", "V5", "V6"}:
        assert ecg.leads == STANDARD_LEADS
    i, ii = ecg.lead("I"), ecg.lead("II")
    np.testing.assert_array_equal(ecg.lead("III"), ii - i)
    np.testing.assert_allclose(ecg.lead("aVR"), -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(ecg.lead("aVF"), ii - i / 2, atol=1e-12)
    assert ecg.resolution_mv is not None and ecg.resolution_mv[0] == pytest.approx(0.00375)


def test_paediatric_lead_set_is_reported_as_stored(scp_dir: Path) -> None:
    # This file's Section 3 holds V3R and V7 instead of V3 and V5 (its statements say a
    # paediatric lead set was used); the reader must not relabel them as a standard 12-lead.
    ecg = scp.read(scp_dir / NAMES[0])
    assert "V3R" in ecg.leads and "V7" in ecg.leads
    assert not ecg.has_standard_12()


def test_samples_match_independent_decode(scp_file: Path) -> None:
    data = scp_file.read_bytes()
    raw, avm = _hand_decode(data)
    ecg = scp.read(scp_file)
    step_mv = avm / 1e6
    for name, counts in raw.items():
        got = ecg.lead(name)
        assert np.max(np.abs(got - counts * step_mv)) <= step_mv / 2, name
        np.testing.assert_array_equal(np.round(got / step_mv).astype(np.int64), counts)


def test_amplitudes_and_heart_rate_are_physiological(scp_file: Path) -> None:
    ecg = scp.read(scp_file)
    lead = ecg.lead("II")
    baseline = float(np.median(lead))
    assert abs(baseline) < 0.5
    peaks, _ = find_peaks(np.abs(lead - baseline), height=0.4 * np.max(np.abs(lead - baseline)),
                          distance=int(0.3 * ecg.fs))
    amplitude = np.max(np.abs(lead - baseline))
    assert 0.3 <= amplitude <= 3.0
    # The device's own heart rate (Section 7) against the rate of the decoded beats: this
    # fails if the sampling rate or the sample order were wrong.
    rr_s = float(np.median(np.diff(peaks))) / ecg.fs
    assert 60 / rr_s == pytest.approx(ecg.device.measurements["heart_rate_bpm"], abs=3)


def test_device_measurements_and_statements(scp_file: Path) -> None:
    ecg = scp.read(scp_file)
    m = ecg.device.measurements
    for key in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "p_axis_deg",
                "qrs_axis_deg", "t_axis_deg"):
        assert key in m, key
    assert 80 <= m["pr_ms"] <= 300 and 60 <= m["qrs_ms"] <= 160 and 250 <= m["qt_ms"] <= 500
    # QT is derived here from the Section 7 wave boundaries; the device's own QTc (Bazett)
    # must agree with it.
    assert m["qt_ms"] / np.sqrt(m["rr_ms"] / 1000) == pytest.approx(m["qtc_bazett_ms"], abs=2)
    assert ecg.device.statements
    assert any("sinusrytm" in s for s in ecg.device.statements)


def test_patient_and_acquisition_fields(scp_dir: Path) -> None:
    ecg = scp.read(scp_dir / NAMES[0])
    assert ecg.patient.patient_id == "ANON000002"
    assert ecg.patient.age_years == 36
    # The anonymiser's placeholders, written with a big-endian year (see decode_date).
    assert ecg.patient.birth_date == date(1900, 1, 1)
    assert ecg.acquisition.time == datetime(2000, 1, 1, 0, 0, 0)
    assert ecg.acquisition.device is not None and "Welch Allyn" in ecg.acquisition.device


# --- damaged and hostile files ----------------------------------------------------------------


def _refresh_crcs(data: bytes) -> bytes:
    """Recompute every CRC so that only the structural checks can catch a change."""
    buf = bytearray(data)
    for offset, length in _sections(bytes(buf)).values():
        if 16 <= length and 0 <= offset and offset + length <= len(buf):
            struct.pack_into("<H", buf, offset,
                             binascii.crc_hqx(bytes(buf[offset + 2: offset + length]), 0xFFFF))
    struct.pack_into("<H", buf, 0, binascii.crc_hqx(bytes(buf[2:]), 0xFFFF))
    return bytes(buf)


def _expect_format_error(tmp_path: Path, data: bytes, name: str = "bad.SCP") -> ECGFormatError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ECGFormatError) as info:
        scp.read(path)
    assert str(path) in str(info.value)
    return info.value


def test_truncated_files(tmp_path: Path, scp_dir: Path) -> None:
    data = (scp_dir / NAMES[1]).read_bytes()
    cuts = sorted({1, 6, 21, 22, 40, 150, 400, 2100, len(data) - 1, *range(0, len(data), 997)})
    for cut in cuts:
        _expect_format_error(tmp_path, data[:cut])
        # Also with the record size and CRC made consistent, so the section pointers are hit.
        if cut > 22:
            fixed = bytearray(data[:cut])
            struct.pack_into("<I", fixed, 2, cut)
            struct.pack_into("<H", fixed, 0, binascii.crc_hqx(bytes(fixed[2:]), 0xFFFF))
            _expect_format_error(tmp_path, bytes(fixed))


def test_flipped_header_bytes(tmp_path: Path, scp_dir: Path) -> None:
    data = (scp_dir / NAMES[2]).read_bytes()
    for pos in range(400):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        _expect_format_error(tmp_path, bytes(bad))


def test_bad_crc_is_named(tmp_path: Path, scp_dir: Path) -> None:
    data = bytearray((scp_dir / NAMES[0]).read_bytes())
    offset, _ = _sections(bytes(data))[6]
    data[offset + 100] ^= 0x01
    err = _expect_format_error(tmp_path, bytes(data))
    assert "CRC" in err.problem


def test_hostile_sample_count_refused_before_allocation(tmp_path: Path, scp_dir: Path) -> None:
    data = bytearray((scp_dir / NAMES[0]).read_bytes())
    offset, _ = _sections(bytes(data))[3]
    struct.pack_into("<I", data, offset + 16 + 2 + 4, 0xFFFFFFF0)  # lead 1 ends at sample 4e9
    err = _expect_format_error(tmp_path, _refresh_crcs(bytes(data)))
    assert "declares" in err.problem


def test_section_pointing_past_end(tmp_path: Path, scp_dir: Path) -> None:
    data = bytearray((scp_dir / NAMES[0]).read_bytes())
    for pos in range(22, 6 + 136, 10):
        if struct.unpack_from("<H", data, pos)[0] == 6:
            struct.pack_into("<I", data, pos + 6, len(data) - 10)
    err = _expect_format_error(tmp_path, _refresh_crcs(bytes(data)))
    assert "past the end" in err.problem


def test_random_corruption_with_valid_crcs_never_escapes(tmp_path: Path, scp_dir: Path) -> None:
    """Mutations a CRC cannot catch (the CRCs are recomputed): an ECG or ECGFormatError, nothing
    else."""
    rng = random.Random(1064)
    data = (scp_dir / NAMES[2]).read_bytes()
    end_of_headers = _sections(data)[6][0] + 16 + 2 + 16  # through Section 6's lead sizes
    path = tmp_path / "mutated.SCP"
    for _ in range(60):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            bad[rng.randrange(6, end_of_headers)] = rng.randrange(256)
        path.write_bytes(_refresh_crcs(bytes(bad)))
        try:
            ecg = scp.read(path)
        except ECGFormatError:
            continue
        assert ecg.n_samples > 0 and not np.isinf(ecg.signal).any()


# --- de-identification ------------------------------------------------------------------------

_PHI = {
    0: b"Doe-Smithson\x00", 1: b"Janet\x00", 2: b"P123456789\x00", 3: b"Maidenname\x00",
    5: b"\xae\x07\x02\x03",  # birth date 1966-02-03, little-endian as the standard says
    13: b"Referred by Dr Zhivago\x00", 16: b"St Elsewhere Hospital\x00", 18: b"Cardiology Ward "
                                                                             b"7\x00",
    20: b"Dr Referring Physician\x00", 21: b"Dr Confirming Physician\x00", 22: b"Tech Techname\x00",
    23: b"Room 101\x00", 30: b"Patient is the "
                             b"mayor\x00", 31: b"SEQ-998877\x00", 200: b"VENDOR-PHI\x00",
}


_SERIAL = b"SN-4711-0815"


def _with_phi(data: bytes) -> bytes:
    """A real file whose Section 1 carries identifying values in every identifying tag."""
    path = Path("<test>")
    sections = parse_layout(data, path)
    tags = []
    for tag, value in split_tags(sections[1].body(data), path):
        if tag == 14:  # device block: put a serial number into its second string
            strings = value[36:].split(b"\x00")
            strings[1] = _SERIAL
            value = value[:36] + b"\x00".join(strings)
        if tag not in _PHI and tag != 4:
            tags.append((tag, value))
    return rebuild(data, sections, {1: join_tags([*_PHI.items(), *tags])})


def _signal_sections_identical(a: bytes, b: bytes) -> None:
    for sid in (2, 3, 4, 5, 6, 7, 10):
        oa, la = _sections(a)[sid]
        ob, lb = _sections(b)[sid]
        assert a[oa: oa + la] == b[ob: ob + lb], f"Section {sid} changed"


def test_deidentify_removes_injected_phi(tmp_path: Path, scp_dir: Path) -> None:
    src = tmp_path / "phi.SCP"
    src.write_bytes(_with_phi((scp_dir / NAMES[1]).read_bytes()))
    before = scp.read(src)
    assert before.patient.name == "Janet Doe-Smithson"
    assert before.patient.birth_date == date(1966, 2, 3)
    assert _SERIAL in src.read_bytes()
    dst = tmp_path / "deid.SCP"
    deidentify_any(src, dst, DeidOptions(pseudonym_key=b"secret", date_shift_days=-30))
    out = dst.read_bytes()
    for value in [*_PHI.values(), _SERIAL]:
        text = value.rstrip(b"\x00")
        if len(text) > 4:
            assert text not in out, text
    assert _crc_ok(out)
    _signal_sections_identical(src.read_bytes(), out)
    after = scp.read(dst)
    np.testing.assert_array_equal(after.signal, before.signal)
    assert after.patient.name is None and after.patient.birth_date is None
    assert after.patient.patient_id == DeidOptions(pseudonym_key=b"secret").pseudonym("P123456789")
    assert after.patient.age_years == 33  # computed from the birth date before it was dropped
    assert after.acquisition.time == datetime(1999, 12, 2, 0, 0, 0)
    assert after.acquisition.site is None
    assert after.acquisition.device == before.acquisition.device  # make and model stay


def test_deidentify_real_files(tmp_path: Path, scp_file: Path) -> None:
    dst = tmp_path / "deid.SCP"
    scp.deidentify(scp_file, dst, DeidOptions(drop_dates=True))
    src_bytes, out = scp_file.read_bytes(), dst.read_bytes()
    before, after = scp.read(scp_file), scp.read(dst)
    for text in (b"REMOV", before.patient.patient_id.encode()):
        assert text not in out
    assert _crc_ok(out)
    _signal_sections_identical(src_bytes, out)
    np.testing.assert_array_equal(after.signal, before.signal)
    assert after.leads == before.leads and after.fs == before.fs
    assert after.patient.patient_id is None and after.acquisition.time is None
    assert after.patient.age_years == min(before.patient.age_years or 0, 90)
    assert after.device.statements == before.device.statements
    assert after.device.measurements == before.device.measurements
    assert _body(out, 8)[1:8] == bytes(7)  # interpretation date and time dropped too


def test_deidentify_keeps_dates_when_asked(tmp_path: Path, scp_dir: Path) -> None:
    dst = tmp_path / "deid.SCP"
    scp.deidentify(scp_dir / NAMES[2], dst, DeidOptions())
    assert scp.read(dst).acquisition.time == datetime(2000, 1, 1, 0, 0, 0)
    assert _body(dst.read_bytes(), 8)[1:8] == _body((scp_dir / NAMES[2]).read_bytes(), 8)[1:8]


# --- encodings the real files do not use, on records built here from the standard ------------


def _section(sid: int, body: bytes, reserved: bytes = bytes(6)) -> bytes:
    rest = struct.pack("<HIBB", sid, 16 + len(body), 20, 20) + reserved + body
    return struct.pack("<H", binascii.crc_hqx(rest, 0xFFFF)) + rest


def _build_record(bodies: dict[int, bytes]) -> bytes:
    """An SCP-ECG record with the given section bodies (Section 0 is made here)."""
    sec0_len = 16 + 10 * 12
    index, table, chunks = 7 + sec0_len, b"", []
    for sid in range(1, 12):
        if sid in bodies:
            chunk = _section(sid, bodies[sid])
            table += struct.pack("<HII", sid, len(chunk), index)
            chunks.append(chunk)
            index += len(chunk)
        else:
            table += struct.pack("<HII", sid, 0, 0)
    sec0 = _section(0, struct.pack("<HII", 0, sec0_len, 7) + table, reserved=b"SCPECG")
    payload = sec0 + b"".join(chunks)
    body = struct.pack("<I", 6 + len(payload)) + payload
    return struct.pack("<H", binascii.crc_hqx(body, 0xFFFF)) + body


def _section1() -> bytes:
    device = (bytes(8) + b"TEST\x00\x00" + bytes([20, 0, 0, 0, 1]) + bytes(17)
              + b"\x00\x00\x00\x00\x00")
    tags = [(2, b"SYN1\x00"), (14, device), (25, b"\xd0\x07\x01\x02"), (26, b"\x0a\x0b\x0c")]
    return b"".join(struct.pack("<BH", t, len(v)) + v for t, v in tags) + b"\xff\x00\x00\x00"


def _encode_default_huffman(values: np.ndarray) -> bytes:
    bits = []
    for v in values.tolist():
        if v == 0:
            bits.append("0")
        elif abs(v) <= 8:
            bits.append("1" * abs(v) + "0" + ("1" if v < 0 else "0"))
        elif -128 <= v <= 127:
            bits.append("1" * 9 + "0" + format(v & 0xFF, "08b"))
        else:
            bits.append("1" * 10 + format(v & 0xFFFF, "016b"))
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def _encode(x: np.ndarray, diff: int) -> np.ndarray:
    if diff == 0:
        return x
    if diff == 1:
        return np.concatenate(([x[0]], np.diff(x)))
    return np.concatenate((x[:2], x[2:] - 2 * x[1:-1] + x[:-2]))


LEADS_8 = [1, 2, 3, 4, 5, 6, 7, 8]


def _synthetic(
    signals: np.ndarray, *, diff: int, huffman: bool, ranges: list[tuple[int, int]] | None = None,
    avm_nv: int = 5000, interval_us: int = 2000,
) -> bytes:
    n, k = signals.shape
    ranges = ranges or [(1, n)] * k
    sec3 = bytes([k, 0x04 | (k << 3)]) + b"".join(
        struct.pack("<IIB", s, e, code) for (s, e), code in zip(ranges, LEADS_8, strict=False)
    )
    chunks = []
    for j, (s, e) in enumerate(ranges):
        enc = _encode(signals[: e - s + 1, j].astype(np.int64), diff)
        chunks.append(_encode_default_huffman(enc) if huffman else enc.astype("<i2").tobytes())
    sec6 = struct.pack("<HHBB", avm_nv, interval_us, diff, 0) + struct.pack(
        f"<{k}H", *(len(c) for c in chunks)) + b"".join(chunks)
    sec6 += b"\x00" * (len(sec6) % 2)
    bodies = {1: _section1(), 3: sec3, 6: sec6}
    if huffman:
        bodies[2] = struct.pack("<H", 19999)
    return _build_record(bodies)


def _random_ecg_like(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.integers(-40, 41, size=(n, k))
    steps[rng.random((n, k)) < 0.01] *= 30  # occasional large jumps: the 8- and 16-bit codes
    return np.clip(np.cumsum(steps, axis=0), -30000, 30000)


@pytest.mark.parametrize(("diff", "huffman"),
                         [(0, False), (1, False), (2, False), (1, True), (0, True)])
def test_synthetic_encodings_decode_exactly(tmp_path: Path, diff: int, huffman: bool) -> None:
    x = _random_ecg_like(1000, 8, seed=diff + 10 * huffman)
    path = tmp_path / "syn.scp"
    path.write_bytes(_synthetic(x, diff=diff, huffman=huffman))
    ecg = scp.read(path)
    assert ecg.fs == 500.0 and ecg.leads == STANDARD_LEADS
    stored = [ecg.lead(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    np.testing.assert_array_equal(np.column_stack(stored), x * 0.005)
    assert ecg.acquisition.time == datetime(2000, 1, 2, 10, 11, 12)
    assert ecg.patient.patient_id == "SYN1"


def test_sequentially_recorded_leads_keep_their_time(tmp_path: Path) -> None:
    x = _random_ecg_like(500, 8, seed=3)
    ranges = [(1, 500)] * 2 + [(501, 1000)] * 6  # I, II first; the chest leads after them
    path = tmp_path / "seq.scp"
    path.write_bytes(_synthetic(x, diff=1, huffman=True, ranges=ranges))
    ecg = scp.read(path)
    assert ecg.n_samples == 1000
    np.testing.assert_array_equal(ecg.lead("I")[:500], x[:, 0] * 0.005)
    assert np.isnan(ecg.lead("I")[500:]).all() and np.isnan(ecg.lead("V1")[:500]).all()
    np.testing.assert_array_equal(ecg.lead("V1")[500:], x[:, 2] * 0.005)


def test_synthetic_hostile_counts(tmp_path: Path) -> None:
    x = _random_ecg_like(100, 8, seed=4)
    for huffman in (False, True):
        data = _synthetic(x, diff=0, huffman=huffman, ranges=[(1, 100)] * 7 + [(1, 100_000)])
        err = _expect_format_error(tmp_path, data)
        assert "declares" in err.problem


def test_agrees_with_biosig_when_installed(tmp_path: Path, scp_file: Path) -> None:
    """A third decoder, libbiosig's (C; Debian package biosig-tools), where it is available."""
    import json
    import shutil
    import subprocess

    if shutil.which("save2gdf") is None:
        pytest.skip("biosig-tools (save2gdf) not installed; the hand decode above still runs")
    header = json.loads(subprocess.run(
        ["save2gdf", "-JSON", str(scp_file)], capture_output=True, text=True, check=True
    ).stdout)
    subprocess.run(["save2gdf", "-f=ASCII", str(scp_file), str(tmp_path / "b.asc")],
                   capture_output=True, check=True)
    ecg = scp.read(scp_file)
    for k, channel in enumerate(header["CHANNEL"], 1):
        assert channel["PhysicalUnit"] == "uV"
        theirs = np.loadtxt(tmp_path / f"b.a{k:02d}") / 1000.0
        np.testing.assert_allclose(ecg.lead(channel["Label"]), theirs, rtol=0, atol=1e-9)


def test_reference_beat_subtraction(tmp_path: Path) -> None:
    """Sections 4/5 with subtraction (Section 3 flag bit 0): rhythm = residual + reference beat.

    The reference beat's fiducial sample (Section 4) lines up with each type-0 QRS fiducial, and
    the beat is added back between that QRS's subtraction start and end only.
    """
    n, k, beat_len, ref_fid = 2000, 8, 200, 80
    rng = np.random.default_rng(7)
    residual = _random_ecg_like(n, k, seed=8) // 4
    beat = rng.integers(-400, 400, size=(beat_len, k))
    qrs = [(0, 300), (0, 800), (1, 1300), (0, 1800)]  # (type, fiducial); type 1 is not subtracted
    zones = [(t, fid - 40, fid, fid + 60) for t, fid in qrs]
    avm6, avm5 = 5000, 2500
    expected = residual * (avm6 / 1e6)
    for qtype, start, fid, end in zones:
        if qtype == 0:
            s = np.arange(start, end + 1)
            expected[s - 1] += beat[s - fid + ref_fid - 1] * (avm5 / 1e6)
    sec3 = bytes([k, 0x01 | 0x04 | (k << 3)]) + b"".join(
        struct.pack("<IIB", 1, n, code) for code in LEADS_8)
    sec4 = struct.pack("<HHH", beat_len * 2, ref_fid, len(zones)) + b"".join(
        struct.pack("<HIII", *z) for z in zones) + b"".join(
        struct.pack("<II", z[1], z[3]) for z in zones)

    def coded(avm: int, x: np.ndarray) -> bytes:
        chunks = [_encode_default_huffman(_encode(x[:, j], 1)) for j in range(k)]
        body = struct.pack("<HHBB", avm, 2000, 1, 0) + struct.pack(
            f"<{k}H", *map(len, chunks)) + b"".join(chunks)
        return body + b"\x00" * (len(body) % 2)

    bodies = {1: _section1(), 2: struct.pack("<H", 19999), 3: sec3, 4: sec4,
              5: coded(avm5, beat), 6: coded(avm6, residual)}
    path = tmp_path / "refbeat.scp"
    path.write_bytes(_build_record(bodies))
    ecg = scp.read(path)
    stored = np.column_stack([ecg.lead(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")])
    np.testing.assert_allclose(stored, expected, rtol=0, atol=1e-12)
