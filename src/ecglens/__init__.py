"""ecglens: explainable deep-learning interpretation of the 12-lead ECG."""

from ecglens.exceptions import DataError, ECGFormatError, EcglensError, ECGSignalError, ModelError
from ecglens.record import ECG, STANDARD_LEADS, Acquisition, DeviceInterpretation, Patient

__version__ = "0.4.0"

__all__ = [
    "ECG",
    "STANDARD_LEADS",
    "Acquisition",
    "DataError",
    "DeviceInterpretation",
    "ECGFormatError",
    "ECGSignalError",
    "EcglensError",
    "ModelError",
    "Patient",
    "__version__",
]
