"""Result schemas of the explanation stage: where in the leads and the beat a finding's
evidence lies. Defined once; the interpretation result, the API, the PDF and the viewer reuse
them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["AttributionMap", "Explanation", "LeadShare"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadShare(_Model):
    lead: str
    share: float  # fraction of the finding's positive attribution that lies in this lead


class AttributionMap(_Model):
    """Signed attribution, leads × time, scaled so the largest |value| is 1."""

    leads: list[str]
    fs: float  # bins per second of ``values``
    start_s: float = 0.0  # time of the first bin in the record
    values: list[list[float]]


class Explanation(_Model):
    method: str  # "integrated_gradients" / "gradient_x_input"
    summary: str  # words: "QRS complex in V1–V3; ST segment in V2–V4"
    leads: list[LeadShare]  # sorted, largest first
    segments: dict[str, float]  # share of positive attribution per part of the beat
    median_beat: AttributionMap | None = None  # attribution averaged over beats, aligned on R
    median_r_index: int | None = None  # R peak's bin in ``median_beat``
    # the parts of the beat the shares above refer to: name -> [start, end] seconds from R,
    # from the measurement stage's delineation of the median beat (fixed windows without one)
    beat_parts: dict[str, list[float]] = {}
    raw: AttributionMap | None = None  # the whole record, downsampled
