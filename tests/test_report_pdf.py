from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from pypdf import PdfReader

from ecglens.report.pages import write_pdf, write_png
from ecglens.report.paper import display_filter
from tests.helpers.interp_fixtures import example_ecg, example_interpretation


@pytest.fixture(scope="module")
def ecg():  # type: ignore[no-untyped-def]
    return example_ecg()


def _text(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(str(path)).pages]


def test_pdf_has_summary_and_one_page_per_explained_finding(ecg, tmp_path: Path) -> None:
    interp = example_interpretation(ecg, codes=("CLBBB", "SR"))
    out = tmp_path / "r.pdf"
    assert write_pdf(ecg, interp, out) == 3
    pages = _text(out)
    assert len(pages) == 3
    first = pages[0]
    for needle in ("Vent. rate", "QRS", "P-R-T axes", "Complete left bundle branch block",
                   "p=0.90", "de-identified", "25 mm/s", "10 mm/mV", "Age: 78"):
        assert needle in first, needle
    # QRS of this record is ~90 ms: the CLBBB disagreement is printed, not hidden
    assert "requires QRS duration" in first
    assert "Finding 1: Complete left bundle branch block" in pages[1]
    assert "ST segment in V2–V4" in pages[1]
    assert "Finding 2: Sinus rhythm" in pages[2]
    # page size: A4 landscape in points
    box = PdfReader(str(out)).pages[0].mediabox
    assert float(box.width) == pytest.approx(297 / 25.4 * 72, abs=1)
    assert float(box.height) == pytest.approx(210 / 25.4 * 72, abs=1)


def test_abstained_pdf_says_no_interpretation_and_has_one_page(ecg, tmp_path: Path) -> None:
    interp = example_interpretation(ecg, abstained=True)
    out = tmp_path / "a.pdf"
    assert write_pdf(ecg, interp, out) == 1
    text = _text(out)[0]
    assert "NO INTERPRETATION" in text and "test reason" in text
    assert "bundle branch" not in text


def test_png_is_page_one_at_150_dpi(ecg, tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    write_png(ecg, example_interpretation(ecg), out)
    img = imread(str(out))
    h, w = img.shape[:2]
    assert abs(h - 210 / 25.4 * 150) <= 1 and abs(w - 297 / 25.4 * 150) <= 1
    # the paper is pink-ruled and the trace black: both colours occur
    rgb = img[..., :3]
    pink = (rgb[..., 0] > 0.8) & (rgb[..., 0] - rgb[..., 1] > 0.04)
    assert pink.mean() > 0.1
    assert (rgb.sum(axis=-1) < 0.4).mean() > 0.002


def test_display_filter_removes_offset_and_slow_drift(ecg) -> None:
    t = np.arange(ecg.n_samples)[:, None] / ecg.fs
    drifted = ecg.replace(signal=ecg.signal + 3.0 + 0.5 * np.sin(2 * np.pi * 0.05 * t))
    diff = display_filter(drifted) - display_filter(ecg)
    # the middle 8 s: a zero-phase filter's edges are not the point here
    mid = slice(int(ecg.fs), ecg.n_samples - int(ecg.fs))
    assert np.abs(diff[mid]).max() < 0.05
