"""Signal processing shared by the measurement stage and the models: filters, quality, R peaks."""

from ecglens.signal.filters import (
    bandpass,
    clean,
    highpass,
    lowpass,
    notch,
    powerline_frequency,
    resample,
)
from ecglens.signal.quality import lead_quality, record_quality
from ecglens.signal.rpeaks import detect_rpeaks, qrs_energy

__all__ = [
    "bandpass",
    "clean",
    "detect_rpeaks",
    "highpass",
    "lead_quality",
    "lowpass",
    "notch",
    "powerline_frequency",
    "qrs_energy",
    "record_quality",
    "resample",
]
