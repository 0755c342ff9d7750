"""Lead-reversal detection on real PTB-XL fold-9 records with electrodes swapped in the signal."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecglens.measure import analyze
from ecglens.measure.reversal import (
    CHEST_PAIRS,
    LIMB_SWAPS,
    calibration,
    decision_thresholds,
    false_alarm_rate,
    swap_leads,
)
from ecglens.record import make_ecg
from ecglens.trees import forest_from_arrays


@pytest.fixture(scope="module")
def records(ptbxl_dir):  # type: ignore[no-untyped-def]
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv")
    db = db[db.strat_fold == 9]
    norm = db[db.scp_codes.map(lambda s: "NORM" in ast.literal_eval(s))].head(12)
    out = []
    for path in norm.filename_lr:
        rec = wfdb.rdrecord(str(ptbxl_dir / path))
        out.append(make_ecg(rec.p_signal, rec.fs, rec.sig_name))
    return out


def test_swap_leads_is_an_involution() -> None:
    x = np.random.default_rng(0).normal(size=(12, 50))
    for s in LIMB_SWAPS + CHEST_PAIRS:
        assert np.allclose(swap_leads(swap_leads(x, s), s), x)
    with pytest.raises(KeyError):
        swap_leads(x, "RA/V1")


def test_la_ra_swap_on_raw_signal_is_detected(records) -> None:  # type: ignore[no-untyped-def]
    found, false_alarm = 0, 0
    for ecg in records:
        assert ecg.leads[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
        # LA/RA on the recorded signal: I inverted, II <-> III, aVR <-> aVL
        swapped = ecg.replace(signal=swap_leads(np.asarray(ecg.signal).T, "LA/RA").T)
        rev = analyze(swapped).lead_reversal
        found += rev.suspected == "LA/RA"
        if rev.suspected:  # a verdict says how often a correctly wired ECG scores this high
            assert rev.false_alarm_rate is not None and rev.false_alarm_rate <= 0.0013
            assert "of correctly wired ECGs" in rev.rarity()
        assert rev.scores["LA/RA"] > analyze(ecg).lead_reversal.scores["LA/RA"]
        false_alarm += analyze(ecg).lead_reversal.suspected == "LA/RA"
    assert found >= len(records) - 1
    assert false_alarm == 0


def test_la_ll_swap_on_raw_signal(records) -> None:  # type: ignore[no-untyped-def]
    # LA/LL leaves a plausible ECG: fold-9 sensitivity is ~43 % at 99.7 % specificity, so only
    # some of these 12 normal records are expected to be named, and none unswapped
    named, false_alarm, swapped_scores, plain_scores = 0, 0, [], []
    for ecg in records:
        swapped = ecg.replace(signal=swap_leads(np.asarray(ecg.signal).T, "LA/LL").T)
        rev, plain = analyze(swapped).lead_reversal, analyze(ecg).lead_reversal
        named += rev.suspected == "LA/LL"
        false_alarm += plain.suspected == "LA/LL"
        swapped_scores.append(rev.scores["LA/LL"])
        plain_scores.append(plain.scores["LA/LL"])
    assert named >= 3
    assert false_alarm == 0
    assert np.mean(swapped_scores) > np.mean(plain_scores) + 0.2


def test_thresholds_share_one_false_alarm_rate_that_adds_up_to_the_budget() -> None:
    """Each detector's threshold is reached by the same small share of the calibration records,
    and the eight shares add up to about the 1 % joint budget (less where they overlap)."""
    rates = {k: false_alarm_rate(k, t) for k, t in decision_thresholds().items()}
    assert set(rates) == set(LIMB_SWAPS + CHEST_PAIRS)
    n = calibration().n_records
    assert max(rates.values()) - min(rates.values()) <= 1.5 / n
    assert 0.008 <= sum(rates.values()) <= 0.012
    # rarer as the score rises, and never read below the stored tail
    tail = calibration().tails["LA/RA"]
    assert false_alarm_rate("LA/RA", tail[0]) == 1 / n
    assert false_alarm_rate("LA/RA", 1.0) == 0.0
    with pytest.raises(ValueError):
        false_alarm_rate("LA/RA", tail[-1] / 2)


def test_tree_arrays_walk_each_tree_to_its_leaf() -> None:
    # two stumps and one two-level tree; children < 0 are leaves (~child)
    trees = {
        "split_feature": np.array([[0, 0], [1, 0], [0, 1]]),
        "split_threshold": np.array([[0.5, 0.0], [2.0, 0.0], [0.5, 1.0]]),
        "left": np.array([[~0, -1], [~0, -1], [1, ~0]]),
        "right": np.array([[~1, -1], [~1, -1], [~2, ~1]]),
        "leaf": np.array([[-1.0, 1.0, 0.0], [0.5, -0.5, 0.0], [0.0, 2.0, 3.0]]),
        "depth": np.array(2),
    }
    forest = forest_from_arrays(trees)
    x = np.array([[0.0, 3.0],  # tree 1: left (-1); tree 2: right (-0.5); tree 3: left, right (2)
                  [1.0, 0.0],  # +1, +0.5, right at the root (3)
                  [np.nan, 3.0]])  # NaN fails <= and goes right, as a NaN feature always has
    assert forest.raw(x).tolist() == [0.5, 4.5, 3.5]
