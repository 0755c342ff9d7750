"""Property-based fuzzing of every reader with mutated real files.

Each example takes a real file of one format and applies 1–4 mutations: byte flips, insertions,
deletions, truncation, duplicated chunks, hostile integers written over binary headers, and, in
text formats (XML, WFDB headers, CSV, the EDF header), numbers replaced by hostile values
(huge sample counts, negative or zero sampling rates, NaN) and XML tags or whole elements dropped
or duplicated (lead-count mismatches). The property: ``registry.read`` either returns an ECG or
raises ECGFormatError, and

* no other exception type escapes,
* no example runs longer than ``EXAMPLE_DEADLINE_S`` (a hang is reported, not waited out),
* no allocation fails under a cap of ``MEMORY_HEADROOM`` bytes of address space above what the
  process already uses (a MemoryError that the registry turned into ECGFormatError still counts
  as a failure: hostile sizes must be refused before allocating),
* no error message quotes the seed's patient name or ID,
* a returned ECG is plausible (``io_seeds.plausibility_problem``: sampling rate in range, no ±inf,
  no sample beyond ±50 mV, no lead without a sample).

``test_io_fuzz_bounded.py`` reads a deterministic mutation corpus in a child process under
time and memory limits; this file explores with hypothesis in-process.

Checksums and encodings would stop most byte mutations before any decoder runs, so half the
examples mutate *inside* them: SCP-ECG CRCs are recomputed, .npz members are mutated and
re-zipped, Philips XLI payloads are mutated between base64 decoding and encoding.

Runs are derandomised (fixed seed, no example database) so CI sees the same examples every time.
``ECGLENS_FUZZ_SCALE`` multiplies the example counts for a longer local run,
``ECGLENS_FUZZ_SEED=<int>`` explores other examples, and
``ECGLENS_FUZZ_SHRINK=1`` lets hypothesis shrink a failure to a minimal example.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import signal
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from ecglens.cli.info import summarize
from ecglens.exceptions import ECGFormatError
from ecglens.io import registry
from tests.helpers.io_seeds import (
    ALL_FORMATS,
    XML_FORMATS,
    copy_record,
    fix_scp_crcs,
    memory_cap,
    plausibility_problem,
    require_reader,
    seed_records,
)

#: examples per format (total 1,170); fewer for Philips, whose pure-Python XLI decompression
#: costs ~0.7 s per intact file. About 40 s on 2 busy cores.
EXAMPLES = {
    "wfdb": 170, "hl7-aecg": 150, "philips-sierra": 80, "ge-muse": 150, "dicom": 130,
    "scp-ecg": 120, "edf": 150, "numpy": 120, "csv": 100,
}
SCALE = float(os.environ.get("ECGLENS_FUZZ_SCALE", "1"))
SHRINK = os.environ.get("ECGLENS_FUZZ_SHRINK", "") not in ("", "0")
#: a local run can explore other examples with ECGLENS_FUZZ_SEED=<int>; CI leaves it unset
FUZZ_SEED = os.environ.get("ECGLENS_FUZZ_SEED")
EXAMPLE_DEADLINE_S = 20
MEMORY_HEADROOM = 3 * 1024**3

TEXT_FORMATS = {*XML_FORMATS, "csv"}
HOSTILE_NUMBERS = [
    "0", "-1", "-500", "1e308", "-1e308", "NaN", "inf", "", "0.0001", "65535", "65536",
    "2147483647", "2147483648", "4294967296", "999999999999", "99999999999999999999", "1.5",
]
HOSTILE_INTS = [0, 1, 0xFF, 0x7F, 0x80, 0xFFFF, 0x7FFF, 0x8000, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000]


def test_example_budget_covers_every_format() -> None:
    assert set(EXAMPLES) == set(ALL_FORMATS), "every registered format needs a fuzz budget"
    assert sum(EXAMPLES.values()) >= 1000


# --- mutations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    kind: str
    where: float  # position as a fraction of the current length (or of the occurrences)
    size: int
    value: int
    data: bytes

    def apply(self, b: bytes) -> bytes:
        n = len(b)
        pos = min(int(self.where * n), max(n - 1, 0))
        if self.kind == "flip" and n:
            return b[:pos] + bytes([b[pos] ^ (self.value % 255 + 1)]) + b[pos + 1:]
        if self.kind == "insert":
            return b[:pos] + self.data + b[pos:]
        if self.kind == "delete":
            return b[:pos] + b[pos + self.size:]
        if self.kind == "truncate":
            return b[:pos]
        if self.kind == "duplicate":
            chunk = b[pos:pos + self.size * 16]
            at = (pos + self.value * 977) % (n + 1)
            return b[:at] + chunk + b[at:]
        if self.kind == "int":  # a hostile little- or big-endian integer over binary header bytes
            width = (2, 4)[self.value % 2]
            order = ("little", "big")[self.size % 2]
            # headers sit near the start: aim 3 of 4 hits at the first 4 KB
            pos = int(self.where * min(n, 4096)) if self.size % 4 else pos
            value = HOSTILE_INTS[self.value % len(HOSTILE_INTS)] & (2 ** (8 * width) - 1)
            return b[:pos] + value.to_bytes(width, order) + b[pos + width:]
        if self.kind == "head-number":  # numbers in the ASCII header of a binary file (EDF)
            return _nth_sub(rb"\d+(?:\.\d+)?", b[:4096], self.where,
                            HOSTILE_NUMBERS[self.value % len(HOSTILE_NUMBERS)].encode()) + b[4096:]
        if self.kind == "number":
            return _nth_sub(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", b, self.where,
                            HOSTILE_NUMBERS[self.value % len(HOSTILE_NUMBERS)].encode())
        if self.kind == "tag":
            m = _match_near(rb"<[^<>]{1,200}>", b, self.where)
            if m is None:
                return b
            op = self.value % 3
            if op == 0:
                return b[:m.start()] + b[m.end():]
            if op == 1:
                return b[:m.start()] + m.group() + b[m.start():]
            return b[:m.start() + 1] + b"x" + b[m.start() + 1:]
        if self.kind == "element":  # drop or repeat a whole element (lead count mismatch)
            m = _match_near(rb"<([A-Za-z][\w:.-]*)[\s>]", b, self.where)
            if m is None:
                return b
            end = b.find(b"</" + m.group(1) + b">", m.start())
            if end < 0:
                return b
            end += len(m.group(1)) + 3
            block = b[m.start():end]
            if self.value % 2:
                return b[:m.start()] + b[end:]
            return b[:end] + block * (1 + self.size % 3) + b[end:]
        return b


def _match_near(pattern: bytes, b: bytes, where: float) -> re.Match[bytes] | None:
    """First match at or after the relative position ``where`` (wrapping to the start).

    Cheaper than listing every match of a 450 KB document on every example.
    """
    rx = re.compile(pattern)
    return rx.search(b, int(where * len(b))) or rx.search(b)


def _nth_sub(pattern: bytes, b: bytes, where: float, new: bytes) -> bytes:
    m = _match_near(pattern, b, where)
    return b if m is None else b[:m.start()] + new + b[m.end():]


def mutations(text: bool) -> st.SearchStrategy[Mutation]:
    kinds = ["flip", "insert", "delete", "truncate", "duplicate", "int", "head-number"]
    if text:
        kinds += ["number", "number", "number", "tag", "element"]
    return st.builds(
        Mutation,
        kind=st.sampled_from(kinds),
        where=st.floats(0, 1, allow_nan=False),
        size=st.integers(1, 256),
        value=st.integers(0, 2**16),
        data=st.binary(min_size=1, max_size=24),
    )


# --- structure-aware mutation: get past checksums and encodings to reach the decoders ----------
# Byte mutations of an SCP file, an .npz archive or Philips base64 are all stopped by a CRC or a
# base64 error before any decoder runs. So for "part 1" examples the mutation goes inside:
# SCP CRCs are recomputed, .npz members are mutated and re-zipped, Philips XLI payloads are
# mutated after base64 decoding. UTF-16 XML is mutated as UTF-8 and written back as UTF-16.


def apply_all(muts: list[Mutation], b: bytes) -> bytes:
    for m in muts:
        b = m.apply(b)
    return b


def _mutate_npz_member(b: bytes, muts: list[Mutation]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(b)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    names = sorted(members)
    victim = names[muts[0].value % len(names)]
    members[victim] = apply_all(muts, members[victim])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, members[n])
    return buf.getvalue()


def _mutate_xli_payload(text: bytes, muts: list[Mutation]) -> bytes:
    m = re.search(rb"(<parsedwaveforms[^>]*>)([^<]+)(</parsedwaveforms>)", text)
    if m is None:
        return apply_all(muts, text)
    payload = apply_all(muts, base64.b64decode(b"".join(m.group(2).split())))
    return text[:m.start(2)] + base64.b64encode(payload) + text[m.end(2):]


def mutate(fmt: str, original: bytes, muts: list[Mutation], inner: bool) -> bytes:
    if fmt in XML_FORMATS and original.startswith((b"\xff\xfe", b"\xfe\xff")):
        utf8 = original.decode("utf-16").encode("utf-8")
        return mutate(fmt, utf8, muts, inner).decode("utf-8", "replace").encode("utf-16")
    if inner and fmt == "scp-ecg":
        return fix_scp_crcs(apply_all(muts, original))
    if inner and fmt == "numpy":
        return _mutate_npz_member(original, muts)
    if inner and fmt == "philips-sierra":
        return _mutate_xli_payload(original, muts)
    return apply_all(muts, original)


# --- the property ------------------------------------------------------------------------------


class ReaderHang(Exception):
    """A reader ran past the per-example deadline."""


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):  # Windows: no alarm; the CI job's timeout still applies
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise ReaderHang(f"read took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def patient_strings(path: Path) -> list[str]:
    """Identifying values the seed holds (name, ID): they must never appear in an error."""
    patient = registry.read(path).patient
    return [v for v in (patient.name, patient.patient_id) if v and len(v) >= 4]


def check_one(main: Path, counts: dict[str, int], phi: list[str]) -> None:
    counts["examples"] += 1
    try:
        with deadline(EXAMPLE_DEADLINE_S):
            ecg = registry.read(main)
            fmt = registry.detect_format(main)
    except ECGFormatError as exc:
        if isinstance(exc.__cause__, MemoryError):
            pytest.fail(f"reader allocated from a hostile size instead of refusing it: {exc}")
        assert exc.problem and "\n" not in str(exc)
        leaked = [v for v in phi if v in exc.problem]
        assert not leaked, f"error message quotes patient data: {exc.problem}"
        counts["refused"] += 1
    else:
        # a returned record is plausible: fs in range, no ±inf, |x| <= 50 mV, no all-missing lead
        problem = plausibility_problem(ecg)
        assert problem is None, f"implausible ECG returned: {problem}"
        # what `ecglens info --json` prints for it must be strict JSON (no NaN from a corrupt field)
        json.dumps(summarize(ecg, main, fmt), allow_nan=False, default=str)
        counts["read"] += 1


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_fuzz_reader(fmt: str, formats_dir: Path, tmp_path: Path) -> None:
    require_reader(fmt)
    records = seed_records(fmt, formats_dir, tmp_path / "seeds")
    originals = [[f.read_bytes() for f in rec] for rec in records]
    phi = [patient_strings(rec[0]) for rec in records]
    work = [copy_record(rec, tmp_path / f"work{i}") for i, rec in enumerate(records)]
    text = fmt in TEXT_FORMATS
    counts = {"examples": 0, "refused": 0, "read": 0}
    n_examples = max(1, int(EXAMPLES[fmt] * SCALE))

    @settings(
        max_examples=n_examples, deadline=None, derandomize=FUZZ_SEED is None, database=None,
        suppress_health_check=list(HealthCheck), print_blob=True,
        # shrinking a failure can take minutes; CI reports the raw example, a local run can shrink
        phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else []),
    )
    @given(
        seed=st.integers(0, len(records) - 1),
        part=st.integers(0, 1),
        muts=st.lists(mutations(text), min_size=1, max_size=4),
        muts_text=st.lists(mutations(True), min_size=1, max_size=4),
    )
    def property_(seed: int, part: int, muts: list[Mutation], muts_text: list[Mutation]) -> None:
        record = records[seed]
        main = work[seed]
        # a WFDB record is a text header plus a binary signal file: mutate one or the other
        target = part % len(record)
        wfdb_header = fmt == "wfdb" and target == 0
        for i, f in enumerate(record):
            data = originals[seed][i]
            if i == target:
                data = mutate(fmt, data, muts_text if wfdb_header else muts, inner=part == 1)
            (main.parent / f.name).write_bytes(data)
        check_one(main, counts, phi[seed])

    if FUZZ_SEED is not None:
        property_ = fixed_seed(int(FUZZ_SEED))(property_)
    with memory_cap(MEMORY_HEADROOM):
        property_()
    assert counts["examples"] >= n_examples
    # the seeds must not all be refused before a reader sees them, nor all read untouched
    assert counts["refused"] > 0
    print(f"{fmt}: {counts}")
