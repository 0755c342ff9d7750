"""Shipped model bundles, and the factory that builds networks and loads their weights.

Layout of a bundle folder::

    bundle.json          name, version, input spec, members, per-task ensembles,
                         temperatures, thresholds, SHA-256 of every member file (``BundleCard``)
    <member>.pt          fp16 state dict
    <member>.json        card: architecture, training config, output layout, SHA-256 of .pt
                         (``MemberCard``)

Cards are validated and files verified on load; a mismatch raises ``ModelError``. Names map to
constructors in ``ecglens.models.registry``; this module imports the built-in architectures so
that they are registered, and owns ``create_model``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from ecglens.exceptions import ModelError
from ecglens.models import inception1d, resnet1d, xresnet1d  # noqa: F401  (registers them)
from ecglens.models.card import BundleCard, MemberCard
from ecglens.models.layout import OutputLayout
from ecglens.models.registry import DEFAULT_MODEL, list_models, model_entrypoint

__all__ = ["WEIGHTS_DIR", "Member", "create_model", "list_models", "load_member",
           "load_member_for_arch", "read_bundle_card", "resolve_bundle_dir", "save_member",
           "sha256_file"]

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
#: where ``create_model(arch, pretrained=True)`` finds weights: the bundle holding a member of
#: every registered architecture (the default bundle holds one network only)
PRETRAINED_BUNDLE = "ptbxl-ensemble"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def create_model(name: str, *, pretrained: bool = False, num_classes: int = 71,
                 input_channels: int = 12, **kwargs: Any) -> nn.Module:
    """Build architecture ``name``. ``pretrained=True`` loads the weights of the shipped member
    trained with that architecture (its output layout is the shipped multi-task layout, so
    ``num_classes`` must then match the card or be left at its default)."""
    constructor = model_entrypoint(name)
    if pretrained:
        return load_member_for_arch(name).network
    net: nn.Module = constructor(num_classes=num_classes, input_channels=input_channels, **kwargs)
    return net


@dataclass
class Member:
    """One trained network of a bundle, ready for float32 inference."""

    name: str
    network: nn.Module
    card: MemberCard
    sha256: str
    file: str

    @property
    def layout(self) -> OutputLayout:
        return self.card.layout

    @property
    def window(self) -> int:
        return self.card.config.window

    @property
    def stride(self) -> int:
        return self.card.config.stride


def load_member(folder: Path, name: str, *, expected_sha256: str | None = None) -> Member:
    card = MemberCard.read(folder / f"{name}.json")
    weight_path = folder / f"{name}.pt"
    if not weight_path.is_file():
        raise ModelError(f"{weight_path}: weight file missing")
    digest = sha256_file(weight_path)
    for claimed in (card.sha256, expected_sha256):
        if claimed is not None and claimed != digest:
            raise ModelError(f"{weight_path}: SHA-256 does not match its card "
                             f"(file {digest[:12]}…, card {claimed[:12]}…); the file is "
                             "corrupt or was replaced")
    options: dict[str, Any] = dict(card.config.model_kwargs)  # architecture options
    net = create_model(card.arch, num_classes=card.layout.n_outputs, **options)
    state = torch.load(weight_path, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in state.items()})
    except RuntimeError as exc:
        raise ModelError(f"{weight_path}: weights do not fit architecture "
                         f"{card.arch!r}: {str(exc)[:200]}") from exc
    net.eval()
    return Member(name=name, network=net, card=card, sha256=digest, file=weight_path.name)


def shipped_bundles() -> list[str]:
    """Names of the bundles under the package's weights folder."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(d.name for d in WEIGHTS_DIR.iterdir() if (d / "bundle.json").is_file())


def resolve_bundle_dir(name: str | Path | None) -> Path:
    """A bundle folder from a name under the package's weights folder or a path;
    ``None`` is ``DEFAULT_MODEL``."""
    if name is None:
        name = DEFAULT_MODEL
    p = Path(name)
    if p.is_dir():
        return p
    candidate = WEIGHTS_DIR / str(name)
    if candidate.is_dir():
        return candidate
    raise ModelError(f"model bundle {str(name)!r} not found; shipped: "
                     f"{', '.join(shipped_bundles()) or 'none'}")


def read_bundle_card(folder: Path) -> BundleCard:
    """``folder/bundle.json``, validated (``ModelError`` when missing or invalid)."""
    return BundleCard.read(folder)


def load_member_for_arch(arch: str) -> Member:
    """The shipped member trained with architecture ``arch`` (``create_model(pretrained=True)``)."""
    folder = resolve_bundle_dir(PRETRAINED_BUNDLE)
    card = read_bundle_card(folder)
    for m in card.members:
        if m.arch == arch:
            return load_member(folder, m.name, expected_sha256=m.sha256)
    raise ModelError(f"no shipped weights for architecture {arch!r}")


def save_member(folder: Path, name: str, state: dict[str, torch.Tensor],
                card: dict[str, Any]) -> str:
    """Write ``name.pt`` (fp16) and ``name.json`` (card with its SHA-256). Returns the SHA-256.

    The card is validated as a ``MemberCard`` first, so that what is written can be loaded."""
    try:
        MemberCard.model_validate({**card, "sha256": None})
    except ValidationError as exc:
        raise ModelError(f"member {name!r}: invalid card: {exc.errors()[0]['msg']}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    path = folder / f"{name}.pt"
    torch.save(half, path)
    digest = sha256_file(path)
    (folder / f"{name}.json").write_text(json.dumps({**card, "sha256": digest}, indent=1))
    return digest
