"""Intervals, heart-rate corrections of QT and frontal-plane axes from global fiducials."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["frontal_axis", "net_area", "qtc"]


def qtc(qt_ms: float, rr_ms: float) -> dict[str, float]:
    """QT corrected for heart rate by the four formulas carts print.

    Bazett 1920: QT/√RR; Fridericia 1920: QT/∛RR; Framingham (Sagie 1992): QT + 154 (1 − RR);
    Hodges 1983: QT + 1.75 (HR − 60). RR in seconds inside the formulas.
    """
    rr = rr_ms / 1000.0
    hr = 60.0 / rr
    return {
        "qtc_bazett_ms": qt_ms / math.sqrt(rr),
        "qtc_fridericia_ms": qt_ms / rr ** (1.0 / 3.0),
        "qtc_framingham_ms": qt_ms + 154.0 * (1.0 - rr),
        "qtc_hodges_ms": qt_ms + 1.75 * (hr - 60.0),
    }


def net_area(x: np.ndarray, start: int, stop: int, base: float) -> float:
    """Net area (mV·samples) of x[start:stop] above the isoelectric level base."""
    if stop <= start:
        return 0.0
    return float((x[start:stop] - base).sum())


def frontal_axis(area_i: float, area_avf: float) -> float | None:
    """Frontal-plane axis in degrees (−90…+270 folded to −180…+180) from net areas in I and aVF.

    With the hexaxial reference aVF = (√3/2)·|H|·sin θ and I = |H|·cos θ, so aVF is scaled by
    2/√3 before the arctangent.
    """
    y = area_avf * 2.0 / math.sqrt(3.0)
    if abs(area_i) < 1e-12 and abs(y) < 1e-12:
        return None
    return float(math.degrees(math.atan2(y, area_i)))
