"""Interpretation: one ECG in, one ``Interpretation`` out (findings, checks, explanations)."""

from typing import Any

from ecglens.interpret.labels import STATEMENTS, statement
from ecglens.interpret.result import SCHEMA_VERSION, Finding, Interpretation

__all__ = ["SCHEMA_VERSION", "STATEMENTS", "Finding", "Interpretation", "interpret", "statement"]


def __getattr__(name: str) -> Any:
    # the pipeline pulls in torch and the measurement stage; import it only when used
    if name == "interpret":
        from ecglens.interpret.pipeline import interpret

        return interpret
    raise AttributeError(name)
