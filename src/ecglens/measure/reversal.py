"""Electrode (lead) reversal detection — placeholder replaced below."""
from __future__ import annotations

import numpy as np

from ecglens.measure.results import LeadReversal


def detect_reversal(med: np.ndarray, leads: tuple[str, ...], fid: object, fs: float) -> LeadReversal:
    return LeadReversal()
