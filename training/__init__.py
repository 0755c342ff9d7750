"""Scripts that re-create the shipped artefacts, run from the repository root as modules:
``python -m training.NAME`` (see README.md)."""
