"""Every file shipped under ``ecglens/weights`` has a recorded SHA-256, and matches it: the
measurement artefacts in ``ecglens.measure.artefacts.SHA256``, each model bundle's files in its
``SHA256SUMS`` (written by ``python -m training.record_bundle_hashes``)."""

from __future__ import annotations

from pathlib import Path

from ecglens.measure.artefacts import SHA256 as MEASURE_SHA256
from ecglens.models.bundle import WEIGHTS_DIR, sha256_file
from training.record_bundle_hashes import MANIFEST, manifest_text


def test_every_shipped_file_has_a_recorded_hash_that_matches() -> None:
    unrecorded = []
    for path in sorted(Path(WEIGHTS_DIR).rglob("*")):
        if not path.is_file() or path.suffix == ".py" or "__pycache__" in path.parts:
            continue
        if path.parent.name == "measure":
            recorded = MEASURE_SHA256.get(path.name)
        elif path.name == MANIFEST:
            continue
        else:
            lines = (path.parent / MANIFEST).read_text().splitlines() \
                if (path.parent / MANIFEST).is_file() else []
            recorded = dict(reversed(line.split("  ", 1)) for line in lines).get(path.name)
        if recorded is None:
            unrecorded.append(str(path.relative_to(WEIGHTS_DIR)))
        else:
            assert sha256_file(path) == recorded, f"{path}: differs from its recorded SHA-256"
    assert not unrecorded, f"no recorded SHA-256 for {unrecorded}"


def test_each_bundle_manifest_lists_exactly_its_files() -> None:
    for manifest in Path(WEIGHTS_DIR).glob(f"*/{MANIFEST}"):
        assert manifest.read_text() == manifest_text(manifest.parent), manifest
