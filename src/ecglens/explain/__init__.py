"""Explanations: attribution of each finding over leads × time, summarised in words."""

from ecglens.explain.attribution import METHODS, attribute
from ecglens.explain.summary import SEGMENTS, lead_ranges, summarise

__all__ = ["METHODS", "SEGMENTS", "attribute", "lead_ranges", "summarise"]
