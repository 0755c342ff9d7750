"""The learned QRS delineator: shipped weights, numpy inference against torch, held-out use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.qrs_net import held_out, load_members, net_qrs_bounds, use_members
from ecglens.measure.reference import reference_intervals
from training import train_measure_qrs_net as train_qrs  # the exporter under test lives there


def test_members_split_ludb_in_two() -> None:
    members = load_members()
    assert {m.name for m in members} == {"odd", "even"}
    seen = [m.trained_on for m in members]
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(range(1, 141))
    assert held_out(2) == {"odd"} and held_out(3) == {"even"}


def test_numpy_inference_matches_torch(tmp_path: Path) -> None:
    """The exported arrays run in numpy give the torch net's probabilities (BN folded)."""
    torch.manual_seed(1)
    nets = {}
    for half in ("odd", "even"):
        net = train_qrs.UNet(train_qrs.SMALL["channels"])
        for m in net.modules():  # non-trivial batch-norm statistics, so folding is exercised
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                torch.nn.init.uniform_(m.weight, 0.5, 1.5)
        nets[half] = net.eval()
    path = str(tmp_path / "w.npz")
    train_qrs.export({h: n.state_dict() for h, n in nets.items()}, train_qrs.SMALL, path)
    x = np.random.default_rng(0).normal(size=(12, 160)).astype(np.float32)
    for member in load_members(path):
        with torch.no_grad():
            want = torch.softmax(nets[member.name](torch.tensor(x[:, None])), 1).numpy()
        assert np.abs(member.probabilities(x) - want).max() < 1e-4


def test_held_out_member_on_ludb(ludb_dir: Path) -> None:
    """Record 2 measured by the member trained on the odd records: within 12 ms of the reference,
    and in the benchmark's mean of rule and net."""
    rec = ludb_dir / "data" / "2"
    ecg = read(rec.with_suffix(".hea"))
    med = analyze(ecg).median_beats
    with use_members({"odd"}):
        on, off = net_qrs_bounds(med, 225, 500.0)
        both = analyze(ecg).measurements.qrs_ms
    with use_members(set()):
        assert net_qrs_bounds(med, 225, 500.0) is None
        rule = analyze(ecg).measurements.qrs_ms
    ref = reference_intervals(rec)["qrs_ms"]
    assert abs((off - on) * 2.0 - ref) <= 12
    assert both is not None and rule is not None
    assert min(rule, (off - on) * 2.0) - 2 <= both <= max(rule, (off - on) * 2.0) + 2


def test_needs_500_hz_and_three_leads(ludb_dir: Path) -> None:
    med = analyze(read(ludb_dir / "data" / "2.hea")).median_beats
    assert net_qrs_bounds(med, 225, 250.0) is None
    assert net_qrs_bounds(med[:2], 225, 500.0) is None
    assert net_qrs_bounds(np.zeros_like(med), 225, 500.0) is None
    assert net_qrs_bounds(med, 20, 500.0) is None  # the crop would leave the beat


def test_modified_shipped_weights_are_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ecglens.measure.qrs_net as qn
    from ecglens.exceptions import ModelError
    from ecglens.measure import artefacts

    monkeypatch.setitem(artefacts.SHA256, qn.WEIGHTS, "0" * 64)
    qn.load_members.cache_clear()
    try:
        with pytest.raises(ModelError, match="SHA-256"):
            qn.load_members()
    finally:
        monkeypatch.undo()
        qn.load_members.cache_clear()
    assert len(qn.load_members()) == 2


def test_flat_lead_is_left_out(ludb_dir: Path) -> None:
    """analyze zeroes unusable leads; the net must not read a QRS into them."""
    med = analyze(read(ludb_dir / "data" / "2.hea")).median_beats
    flat = med.copy()
    flat[4] = 0.0
    with use_members({"odd"}):
        assert net_qrs_bounds(flat, 225, 500.0) == net_qrs_bounds(np.delete(med, 4, 0), 225, 500.0)
