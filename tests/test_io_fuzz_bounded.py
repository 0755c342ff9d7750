"""Every reader on a deterministic corpus of mutated real files, read in a child process under
resource limits: for each file the outcome must be a typed ECGFormatError or a plausible ECG
(fs within the limits, no ±inf, |x| ≤ 50 mV, no lead without a sample), within 10 s and 1 GB of
peak RSS, with the child's address space capped 1.5 GB above what its imports use.

The corpus (``io_seeds.mutant_corpus``) mixes byte flips, truncations, inserted/deleted/duplicated
chunks, absurd header values (sampling rates, gains, baselines, skews, counts, units),
structure-aware changes behind checksums and encodings (SCP-ECG CRCs, .npz members, Philips
XLI payloads and LZW bombs, GE MUSE waveforms with their CRC-32) and oversized XML tokens.
``test_io_fuzz.py`` explores further in-process with hypothesis; ``benchmarks/fuzz_readers.py
--per-format N`` runs the larger corpus and prints its counts (docs/hardening.md).

About 20–40 s on two busy cores; ``ECGLENS_FUZZ_CORPUS=<n>`` sets the mutants per format.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ecglens.record import ECG
from tests.helpers.io_seeds import (
    ALL_FORMATS,
    PER_FILE_SECONDS,
    all_seed_records,
    classify,
    mutant_corpus,
    read_in_subprocess,
    require_reader,
)

PER_FORMAT = int(os.environ.get("ECGLENS_FUZZ_CORPUS", "30"))


def write_corpus(seeds: dict[str, list[list[Path]]], per_format: int, out: Path,
                 seed: int = 0) -> list[dict[str, object]]:
    """Write ``per_format`` mutants of every format under ``out``; one job per mutant."""
    jobs: list[dict[str, object]] = []
    for fmt in ALL_FORMATS:
        for label, record, data in mutant_corpus(fmt, seeds[fmt], per_format,
                                                 seed + zlib.crc32(fmt.encode())):
            folder = out / f"m{len(jobs)}"
            folder.mkdir(parents=True)
            for f, content in zip(record, data, strict=True):
                (folder / f.name).write_bytes(content)
            jobs.append({"id": len(jobs), "path": str(folder / record[0].name), "fmt": fmt,
                         "label": label})
    return jobs


def test_mutants_of_every_reader_end_typed_or_plausible_within_limits(
    formats_dir: Path, tmp_path: Path
) -> None:
    for fmt in ALL_FORMATS:
        require_reader(fmt)
    seeds = all_seed_records(formats_dir, tmp_path / "seeds")
    assert all(seeds[fmt] for fmt in ALL_FORMATS), "a format has no seed record"
    jobs = write_corpus(seeds, PER_FORMAT, tmp_path / "corpus")
    results = read_in_subprocess(jobs, tmp_path, timeout=PER_FILE_SECONDS * 4 + 2 * len(jobs))
    counts: dict[str, Counter[str]] = {fmt: Counter() for fmt in ALL_FORMATS}
    violations = []
    for job in jobs:
        r = results[int(str(job["id"]))]
        counts[str(job["fmt"])][r["outcome"]] += 1
        if r["outcome"] == "violation":
            violations.append(f"{job['label']}: {r['detail']}")
    print({fmt: dict(c) for fmt, c in counts.items()})
    assert not violations, "\n".join(violations)
    for fmt, c in counts.items():
        assert sum(c.values()) == PER_FORMAT
        assert c["refused"] > 0, \
            f"{fmt}: no mutant was refused: the corpus does not reach the reader"
    assert sum(c["plausible"] for c in counts.values()) > 0


def test_corpus_is_deterministic_and_covers_the_mutation_kinds(formats_dir: Path,
                                                               tmp_path: Path) -> None:
    seeds = all_seed_records(formats_dir, tmp_path / "seeds")
    kinds: Counter[str] = Counter()
    for fmt in ALL_FORMATS:
        first = [(label, data) for label, _, data in mutant_corpus(fmt, seeds[fmt], 40, 7)]
        again = [(label, data) for label, _, data in mutant_corpus(fmt, seeds[fmt], 40, 7)]
        assert first == again
        for label, _ in first:
            kinds.update(op.split("@")[0] for op in label.split(":")[-1].split("+"))
    assert {"flip", "truncate", "insert", "delete", "duplicate", "int_over",
            "big_token", "wfdb_header",
            "csv_field", "npz_field", "edf_field", "dicom_field", "scp_field", "aecg_field",
            "muse_field", "sierra_field"} <= set(kinds), kinds


def test_harness_catches_hangs_deaths_allocations_and_slowness(tmp_path: Path) -> None:
    """The child's limits work: each misbehaviour is reported as a violation of that file,
    and the files after it are still read (by a new child where the old one died)."""
    ok = tmp_path / "ok.npz"
    np.savez(ok, signal=np.zeros((500, 2)), fs=np.float64(500), leads=np.asarray(["I", "II"]))
    jobs: list[dict[str, object]] = [
        {"id": 0, "path": str(ok)},
        {"id": 1, "path": str(ok), "selftest": "hang", "limit_s": 1},
        {"id": 2, "path": str(ok), "selftest": "alloc"},
        {"id": 3, "path": str(ok), "selftest": "slow", "limit_s": 1},
        {"id": 4, "path": str(ok), "selftest": "die"},
        {"id": 5, "path": str(ok)},
    ]
    results = read_in_subprocess(jobs, tmp_path, timeout=60)
    assert [results[i]["outcome"] for i in range(6)] == [
        "plausible", "violation", "violation", "violation", "violation", "plausible"]
    assert "time limit" in results[1]["detail"]
    assert "MemoryError" in results[2]["detail"]
    assert "took" in results[3]["detail"]
    assert "died" in results[4]["detail"]


def test_classify_judges_the_returned_record(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    """An ECG with infinite, absurd or all-missing samples is a violation even if returned."""
    from ecglens.io import registry

    p = tmp_path / "x.npz"
    p.write_bytes(b"")
    for values, word in ((np.inf, "infinite"), (60.0, "mV"), (np.nan, "lead without")):
        sig = np.zeros((10, 2))
        sig[:, 1] = values
        monkeypatch.setattr(registry, "read", lambda path, sig=sig: ECG(sig, 500.0, ("I", "II")))
        outcome, detail = classify(p)
        assert outcome == "violation" and word in detail
