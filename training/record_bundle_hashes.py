"""Write ``SHA256SUMS`` in a model bundle folder: the SHA-256 of every file it ships.

The loader already checks each member's weights against ``bundle.json`` and the feature models
against their card; this manifest also covers the cards themselves and the build records
(``selection.json``, ``fold9_outputs.npz``, ``fold9_evaluation.json``), so that every shipped
file has a recorded hash (``tests/test_models_shipped_hashes.py`` checks them). Run it as the
last step of building a bundle:

    python -m training.record_bundle_hashes src/ecglens/weights/ptbxl-fast
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ecglens.models.bundle import sha256_file

MANIFEST = "SHA256SUMS"


def manifest_text(folder: Path) -> str:
    """``sha256sum``'s format: one ``<hash>  <name>`` line per file, sorted by name."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    return "".join(f"{sha256_file(p)}  {p.name}\n" for p in files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path, help="a bundle folder under src/ecglens/weights")
    args = ap.parse_args()
    (args.folder / MANIFEST).write_text(manifest_text(args.folder))
    print(f"wrote {args.folder / MANIFEST}")


if __name__ == "__main__":
    main()
