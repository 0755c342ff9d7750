"""Lead-reversal detection on real PTB-XL fold-9 records with electrodes swapped in the signal."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecglens.measure import analyze
from ecglens.measure.reversal import CHEST_PAIRS, LIMB_SWAPS, swap_leads
from ecglens.record import make_ecg


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
        assert rev.scores["LA/RA"] > analyze(ecg).lead_reversal.scores["LA/RA"]
        false_alarm += analyze(ecg).lead_reversal.suspected == "LA/RA"
    assert found >= len(records) - 1
    assert false_alarm == 0
