"""Clinical measurements: intervals, QTc, axes, signal quality and lead reversal."""

from ecglens.measure.analysis import Analysis, analyze, measure
from ecglens.measure.results import LeadQuality, LeadReversal, Measurements, Quality

__all__ = [
           "Analysis",
           "LeadQuality",
           "LeadReversal",
           "Measurements",
           "Quality",
           "analyze",
           "measure",
]
