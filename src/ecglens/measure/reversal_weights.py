"""Placeholder weights, overwritten by benchmarks/train_measure_reversal.py."""
import numpy as np

LIMB_MEAN = np.zeros(36)
LIMB_STD = np.ones(36)
LIMB_W = np.zeros((4, 36))
LIMB_B = np.array([5.0, 0.0, 0.0, 0.0])
CHEST_MEAN = np.zeros(10)
CHEST_STD = np.ones(10)
CHEST_W = np.zeros(10)
CHEST_B = -5.0
THRESHOLDS: dict[str, float] = {}
