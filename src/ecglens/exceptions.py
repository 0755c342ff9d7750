"""Every error ecglens raises on purpose.

Each class is also the matching built-in, so callers that catch ``ValueError`` keep working
(the scikit-learn convention). Messages are written for a hospital IT team: they name the
file and say what is wrong with it, never print patient data.
"""

from __future__ import annotations


class EcglensError(Exception):
    """Base class of all ecglens errors."""


class ECGFormatError(EcglensError, ValueError):
    """A file could not be read as an ECG: unknown, corrupt, truncated, hostile or empty."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path) if path is not None else "<memory>"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ECGSignalError(EcglensError, ValueError):
    """The record was read but its signal cannot be used for the requested operation."""


class ModelError(EcglensError, RuntimeError):
    """A model could not be created, loaded or verified (unknown name, checksum mismatch)."""


class DataError(EcglensError, ValueError):
    """A research dataset (PTB-XL, challenge, LUDB) is missing or not in the expected layout."""


# -- the clinic service (ecglens.serve): the API answers each with its own status code


class UnsupportedUpload(EcglensError, ValueError):
    """The upload is not an ECG file ecglens can read (415)."""


class MalformedUpload(UnsupportedUpload):
    """The request does not hold one ECG record (several files and no WFDB header, say; 400)."""


class UnreadableUpload(EcglensError, ValueError):
    """The upload is in a known format but the reader refused it (truncated, corrupt, hostile,
    a WFDB header without its signal file, a foreign document type; 422)."""


class UploadTooLarge(EcglensError, ValueError):
    """The upload is over the configured limit; nothing of it was kept (413)."""


class NotRetryable(EcglensError, ValueError):
    """The ECG is not in a state that a retry can change (queued, processing, done, bad file;
    409)."""


class AccountError(EcglensError, ValueError):
    """A user or key request that cannot be done (exists already, unknown, weak password)."""
