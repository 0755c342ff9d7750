"""The measurement stage's trained artefacts: data files in ``ecglens/weights/measure/``.

Trained parameters are data, never Python source. Each file is written only by its trainer in
``training/`` (run from the repository root as ``python -m training.<name>``; training/README.md
lists every shipped file with its command) and its SHA-256 is recorded here, in ``SHA256``; a
shipped file that differs (or is missing) is refused with a ModelError, as a damaged or
modified installation. The hashes are constants in source on purpose: they pin the data to the
code that was tested with it.

===========================  ==================================================================
file                         written by (``training/``), read by
===========================  ==================================================================
qrs-unet.npz                 train_measure_qrs_net.py --write; ``qrs_net`` (the QRS U-Net)
reversal-linear.npz          train_measure_reversal.py; ``reversal`` (limb softmax, chest pairs)
reversal-lall-trees.npz      train_measure_reversal_lall.py; ``reversal`` (LA/LL trees)
reversal-thresholds.json     calibrate_measure_reversal.py --write; ``reversal`` (thresholds)
p-presence.json              train_measure_p_presence.py --write; ``delineate.p_wave_present``
===========================  ==================================================================

``.npz`` files are read without pickle. Each reader caches what it parsed (functools.cache), so
importing the stage reads nothing and a file is read and checked once per process.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ecglens.exceptions import ModelError

__all__ = ["SHA256", "read_bytes", "read_json", "read_npz", "write_artefact"]

# written by the trainers (write_artefact); a shipped file that differs is refused
SHA256: dict[str, str] = {
    "p-presence.json": "cdb0b96c65ed2c9df296d9a675191fbaec4e7cd8240751128c975751c48f730d",
    "qrs-unet.npz": "ed551bba0d66ca3e0798e41b2984caaa93a8e525d736e5230ca4053cbb1fcf84",
    "reversal-lall-trees.npz": "12b1d530c58339d9c69e7ef0a02e9226824d0fef74fbe2c09cfa7a9c573869c6",
    "reversal-linear.npz": "6dc870159a530593f91c20fa974d6af65d18904b6398debf5a4e71ab20b1b666",
    "reversal-thresholds.json": "ba6d85ed7bba7a756f14cb4d6c2dd4394d522ba31f746cfbe839ca897b8e7611",
}


def read_bytes(name: str) -> bytes:
    """The shipped ``weights/measure/<name>``, after checking its recorded SHA-256."""
    if name not in SHA256:
        raise ModelError(f"{name} is not a measurement artefact (known: {sorted(SHA256)})")
    try:
        raw = (files("ecglens.weights") / "measure" / name).read_bytes()
    except OSError as e:
        raise ModelError(f"measurement weights {name}: cannot be read ({e}); the installation "
                         "is incomplete; reinstall ecglens") from e
    if hashlib.sha256(raw).hexdigest() != SHA256[name]:
        raise ModelError(f"the shipped weights/measure/{name} does not match its recorded SHA-256: "
                         "the installation is damaged or was modified; reinstall ecglens")
    return raw


def read_npz(name: str) -> dict[str, np.ndarray]:
    """The arrays of a shipped, checked ``.npz`` (no pickle)."""
    raw = read_bytes(name)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ModelError(f"weights/measure/{name}: not a readable .npz ({e})") from e


def read_json(name: str) -> Any:
    """The content of a shipped, checked JSON file."""
    try:
        return json.loads(read_bytes(name))
    except ValueError as e:
        raise ModelError(f"weights/measure/{name}: not valid JSON ({e})") from e


def write_artefact(name: str, data: bytes, out_dir: Path | None = None) -> Path:
    """For the trainers: write ``data`` as artefact ``name`` and print its SHA-256.

    By default into the source tree's ``src/ecglens/weights/measure/``, recording the new
    SHA-256 in this module's ``SHA256`` (the one line of that file); with ``out_dir``, there
    only, recording nothing (a trial run that leaves the shipped model alone).
    """
    if name not in SHA256:
        raise KeyError(f"{name} is not a measurement artefact (known: {sorted(SHA256)})")
    digest = hashlib.sha256(data).hexdigest()
    here = Path(__file__).resolve()
    path = (here.parents[1] / "weights" / "measure" if out_dir is None else out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if out_dir is None:
        src = here.read_text()
        line = re.compile(rf'^(    "{re.escape(name)}": ")[0-9a-f]{{64}}(",)$', re.MULTILINE)
        new, n = line.subn(rf"\g<1>{digest}\g<2>", src)
        if n != 1:
            raise RuntimeError(f"cannot find the SHA256 line of {name} in {here}")
        here.write_text(new)
        SHA256[name] = digest  # and for the rest of this process
        print(f"wrote {path}\n  SHA-256 {digest} (recorded in {here})")
    else:
        print(f"wrote {path}\n  SHA-256 {digest} (a trial: not recorded, not shipped)")
    return path
