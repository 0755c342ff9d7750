"""Reports of an Interpretation: ECG-paper PDF/PNG (``report.pages``) and FHIR (``report.fhir``).

Submodules are imported on use: matplotlib and fhir.resources are slow to import and the
JSON-only path needs neither.
"""

__all__ = ["fhir", "pages", "paper"]
