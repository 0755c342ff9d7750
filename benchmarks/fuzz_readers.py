"""Every reader on a large deterministic corpus of mutated real files, under resource limits.

    .venv/bin/python -m benchmarks.fuzz_readers --per-format 300 [--seed 0] [--formats wfdb,csv]

The corpus is the one ``tests/test_io_fuzz_bounded.py`` reads in CI, made larger:
``io_seeds.mutant_corpus`` applies 1–3 mutations to the real seed records of each format (byte
flips, truncations, inserted/deleted/duplicated chunks, absurd header values, structure-aware
changes behind checksums and encodings, LZW bombs, oversized XML tokens). Each file is read in a
child process whose address space is capped 1.5 GB above its imports; a file counts as a
violation when the read raises anything but ECGFormatError, returns an implausible ECG (fs outside
1–100,000 Hz, ±inf, |x| > 50 mV, a lead without a sample), takes over 10 s, pushes the child's
peak RSS over 1 GB, or kills the child. Prints, per format: typed errors, plausible ECGs,
violations, and the slowest read; then every violation. Exit status 1 if there was any.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

from tests.helpers.io_seeds import (
    ALL_FORMATS,
    all_seed_records,
    mutant_corpus,
    read_in_subprocess,
)

ROOT = Path(__file__).resolve().parents[1]

BATCH = 150  # mutants written and read at a time (the oversized-token ones are 4 MB each)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-format", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--formats", default=",".join(ALL_FORMATS))
    args = ap.parse_args(argv)
    import os

    data = Path(os.environ.get("ECGLENS_DATA", ROOT.parent / "shared" / "data"))
    formats = [f for f in args.formats.split(",") if f]
    counts: dict[str, Counter[str]] = {fmt: Counter() for fmt in formats}
    slowest: dict[str, float] = dict.fromkeys(formats, 0.0)
    violations: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ecglens-fuzz-") as tmp:
        work = Path(tmp)
        seeds = all_seed_records(data / "formats", work / "seeds")
        for fmt in formats:
            corpus = mutant_corpus(fmt, seeds[fmt], args.per_format,
                                   args.seed + zlib.crc32(fmt.encode()))
            done = False
            while not done:
                batch_dir = work / "batch"
                shutil.rmtree(batch_dir, ignore_errors=True)
                jobs: list[dict[str, object]] = []
                for label, record, content in corpus:
                    folder = batch_dir / f"m{len(jobs)}"
                    folder.mkdir(parents=True)
                    for f, b in zip(record, content, strict=True):
                        (folder / f.name).write_bytes(b)
                    jobs.append({"id": len(jobs), "path": str(folder / record[0].name),
                                 "label": label})
                    if len(jobs) == BATCH:
                        break
                else:
                    done = True
                if not jobs:
                    break
                results = read_in_subprocess(jobs, batch_dir, timeout=60 + 12 * len(jobs))
                for job in jobs:
                    r = results[int(str(job["id"]))]
                    counts[fmt][r["outcome"]] += 1
                    slowest[fmt] = max(slowest[fmt], float(r.get("s", 0.0)))
                    if r["outcome"] == "violation":
                        violations.append(f"{job['label']}: {r['detail']}")
            print(f"{fmt:15s} typed error {counts[fmt]['refused']:5d}   plausible ECG "
                  f"{counts[fmt]['plausible']:5d}   violation {counts[fmt]['violation']:3d}   "
                  f"slowest read {slowest[fmt]:.2f} s", flush=True)
    total = sum(sum(c.values()) for c in counts.values())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{total} files in {time.perf_counter() - start:.0f} s; largest peak RSS of a reader "
          f"process {peak:.0f} MB; {len(violations)} violations")
    for v in violations:
        print("VIOLATION", v)
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
