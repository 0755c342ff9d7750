"""Result schemas of the signal stage: quality per lead and per record.

Defined once; the measurement stage, the interpretation result, the API, FHIR and the PDF
report reuse them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["LeadQuality", "Quality", "Verdict"]

Verdict = Literal["acceptable", "limited", "unacceptable"]


class LeadQuality(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: str
    verdict: Verdict
    problems: list[str] = []  # e.g. "flat line / lead off", "clipping", "baseline wander"


class Quality(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    reasons: list[str] = []
    leads: list[LeadQuality] = []
