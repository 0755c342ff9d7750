"""Clinical measurements: intervals, QTc, axes, signal quality and lead reversal."""

from ecglens.measure.analysis import Analysis, analyze, measure
from ecglens.measure.results import LeadReversal, Measurements
from ecglens.signal.results import LeadQuality, Quality

__all__ = [
           "Analysis",
           "LeadQuality",
           "LeadReversal",
           "Measurements",
           "Quality",
           "analyze",
           "measure",
]
