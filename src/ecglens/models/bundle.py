"""Shipped model bundles: weight files, each with a JSON card, and one ``bundle.json``.

Layout of a bundle folder::

    bundle.json          name, version, input spec, members, per-task ensembles,
                         temperatures, thresholds, SHA-256 of every member file
    <member>.pt          fp16 state dict
    <member>.json        card: architecture, training config, output layout, SHA-256 of .pt

Everything is verified on load; a mismatch raises ``ModelError``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ecglens.exceptions import ModelError
from ecglens.models.layout import OutputLayout
from ecglens.models.registry import create_model

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_BUNDLE = "ptbxl-ensemble"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Member:
    """One trained network of a bundle, ready for float32 inference."""

    name: str
    network: nn.Module
    card: dict[str, Any]
    layout: OutputLayout
    window: int
    stride: int
    sha256: str
    file: str


def load_member(folder: Path, name: str, *, expected_sha256: str | None = None) -> Member:
    card_path, weight_path = folder / f"{name}.json", folder / f"{name}.pt"
    try:
        card = json.loads(card_path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"{card_path}: model card missing") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}: model card is not valid JSON") from exc
    if not weight_path.is_file():
        raise ModelError(f"{weight_path}: weight file missing")
    digest = sha256_file(weight_path)
    for claimed in (card.get("sha256"), expected_sha256):
        if claimed is not None and claimed != digest:
            raise ModelError(f"{weight_path}: SHA-256 does not match its card "
                             f"(file {digest[:12]}…, card {claimed[:12]}…); the file is "
                             "corrupt or was replaced")
    layout = OutputLayout(**card["layout"])
    net = create_model(card["arch"], num_classes=layout.n_outputs,
                       **card["config"].get("model_kwargs", {}))
    state = torch.load(weight_path, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in state.items()})
    except RuntimeError as exc:
        raise ModelError(f"{weight_path}: weights do not fit architecture "
                         f"{card['arch']!r}: {str(exc)[:200]}") from exc
    net.eval()
    cfg = card["config"]
    return Member(name=name, network=net, card=card, layout=layout, window=int(cfg["window"]),
                  stride=int(cfg["stride"]), sha256=digest, file=weight_path.name)


def resolve_bundle_dir(name: str | Path | None) -> Path:
    """A bundle folder from a name under the package's weights folder or a path."""
    if name is None:
        name = DEFAULT_BUNDLE
    p = Path(name)
    if p.is_dir():
        return p
    candidate = WEIGHTS_DIR / str(name)
    if candidate.is_dir():
        return candidate
    known = sorted(d.name for d in WEIGHTS_DIR.iterdir() if (d / "bundle.json").is_file()) \
        if WEIGHTS_DIR.is_dir() else []
    raise ModelError(f"model bundle {str(name)!r} not found; shipped: {', '.join(known) or 'none'}")


def read_bundle_spec(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "bundle.json").read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"{folder}: bundle.json missing (not a model bundle)") from exc


def load_member_for_arch(arch: str) -> Member:
    """The shipped member trained with architecture ``arch`` (``create_model(pretrained=True)``)."""
    folder = resolve_bundle_dir(None)
    spec = read_bundle_spec(folder)
    for m in spec["members"]:
        if m["arch"] == arch:
            return load_member(folder, m["name"], expected_sha256=m["sha256"])
    raise ModelError(f"no shipped weights for architecture {arch!r}")


def save_member(folder: Path, name: str, state: dict[str, torch.Tensor],
                card: dict[str, Any]) -> str:
    """Write ``name.pt`` (fp16) and ``name.json`` (card with its SHA-256). Returns the SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    path = folder / f"{name}.pt"
    torch.save(half, path)
    digest = sha256_file(path)
    (folder / f"{name}.json").write_text(json.dumps({**card, "sha256": digest}, indent=1))
    return digest
