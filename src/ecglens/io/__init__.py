"""Reading, writing and de-identifying ECG files in every clinical format."""

from ecglens.io.registry import FORMATS, MAX_FILE_BYTES, check_file, detect_format, read, validate

__all__ = ["FORMATS", "MAX_FILE_BYTES", "check_file", "detect_format", "read", "validate"]
