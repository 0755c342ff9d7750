"""Lead-reversal decision thresholds, written by benchmarks/calibrate_measure_reversal.py.

One specificity per detector (0.99875), chosen on 10418 PTB-XL records of folds 1-8 that no
reversal model was fit on, so that 1% of them are flagged with any swap.
"""

THRESHOLDS: dict[str, float] = {
    'LA/RA': 0.45736918498907536,
    'LA/LL': 0.9871312279890612,
    'RA/LL': 0.4048635109300579,
    'V1/V2': 0.4408607828061139,
    'V2/V3': 0.7568877050860845,
    'V3/V4': 0.37072279297994853,
    'V4/V5': 0.34173507500449174,
    'V5/V6': 0.2565823444175773,
}
