"""Build a smaller bundle from members of a shipped one, calibrated on PTB-XL fold 9 (CPU).

    python -m training.build_fast_bundle --from ptbxl-ensemble --members resnet1d_wang_s0 \
        --name ptbxl-fast --ptbxl cache/ptbxl

The interactive path (``ecglens interpret``) must answer in tens of milliseconds on one core;
a single resnet1d_wang member does (about 16 ms for the seven windows of a 10 s record), the
nine-member ensemble does not. Members are copied, not retrained: their fold-9 outputs are
recomputed here, and the temperature, per-label offsets and thresholds are fitted for this
member set alone (``ecglens.train.ensemble.build_bundle``), on fold 9 only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from ecglens.data.training_set import load_training_set
from ecglens.models.bundle import resolve_bundle_dir
from ecglens.models.card import BundleCard, MemberCard
from ecglens.train.ensemble import build_bundle


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="source", default="ptbxl-ensemble")
    ap.add_argument("--members", nargs="+", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="1.1")
    ap.add_argument("--ptbxl", required=True, help="PTB-XL root holding fold 9")
    a = ap.parse_args()
    src = resolve_bundle_dir(a.source)
    dest = src.parent / a.name
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in a.members:
        for ext in (".pt", ".json"):
            shutil.copy(src / f"{name}{ext}", dest / f"{name}{ext}")
        card = MemberCard.read(dest / f"{name}.json")
        entries.append({"name": name, "arch": card.arch, "sha256": card.sha256})
    first = MemberCard.read(dest / f"{a.members[0]}.json")
    val = load_training_set(a.ptbxl, folds=[9], label_names=first.layout.labels)
    report = build_bundle([], val, dest, name=a.name, version=a.version, device="cpu",
                          entries=entries)
    BundleCard.read(dest)  # what was written loads: the card validates
    print(json.dumps({t: round(r["fold9_score"], 4) for t, r in report.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
