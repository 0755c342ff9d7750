import numpy as np
import pytest
import torch

from ecglens.explain.attribution import attribute
from ecglens.explain.summary import NO_P, SEGMENTS, beat_windows, lead_ranges, summarise
from tests.helpers.interp_fixtures import example_ecg, st_attribution


def test_lead_ranges_follow_standard_order_and_name_territories() -> None:
    assert lead_ranges(["V4", "V2", "V3"]) == "V2–V4 (anterior)"
    assert lead_ranges(["aVF", "III", "II"]) == "II, III, aVF (inferior)"
    assert lead_ranges(["I", "V6"]) == "I, V6"


def test_st_attribution_on_a_real_record_is_described_as_st_in_v2_v4() -> None:
    ecg = example_ecg()
    attr, a = st_attribution(ecg, ("V2", "V3", "V4"))
    exp = summarise(attr, leads=list(ecg.leads), fs=100.0, method="gradient_x_input",
                    r_times_s=a.rpeaks / ecg.fs, fiducials=a.fiducials,
                    median_r_index=a.median_r_index, median_fs=ecg.fs)
    assert exp.summary.startswith("ST segment in V2–V4"), exp.summary
    assert {s.lead for s in exp.leads[:3]} == {"V2", "V3", "V4"}
    assert sum(s.share for s in exp.leads) == pytest.approx(1.0, abs=1e-3)
    assert max(exp.segments, key=exp.segments.get) == "ST segment"
    assert set(exp.segments) == set(SEGMENTS)
    # the raw map is downsampled to 25 bins/s and scaled to max |value| = 1
    assert exp.raw is not None and exp.raw.fs == 25.0
    raw = np.asarray(exp.raw.values)
    assert raw.shape == (12, 250) and np.abs(raw).max() == pytest.approx(1.0)
    assert exp.median_beat is not None and exp.median_r_index is not None
    med = np.asarray(exp.median_beat.values)
    # averaged over beats the evidence sits after R in V2–V4 and nowhere else
    v3 = med[ecg.leads.index("V3")]
    assert v3[exp.median_r_index + 1:].max() == pytest.approx(1.0, abs=0.05)
    assert np.abs(med[ecg.leads.index("I")]).max() == 0.0


def test_zero_attribution_says_so() -> None:
    exp = summarise(np.zeros((12, 1000)), leads=[f"L{i}" for i in range(12)], fs=100.0,
                    method="x", r_times_s=np.array([1.0, 2.0]), fiducials={},
                    median_r_index=0, median_fs=500.0)
    assert "no part" in exp.summary


def test_inconsistent_fiducials_fall_back_to_default_windows() -> None:
    w = beat_windows({"p_on": 300, "p_off": 100, "qrs_on": 200, "qrs_off": 250, "t_off": 400},
                     225, 500.0)
    assert w["QRS complex"] == (-0.05, 0.05)


def test_without_a_p_wave_the_interval_before_the_qrs_is_not_called_one() -> None:
    fid = {"p_on": None, "p_off": None, "qrs_on": 200, "qrs_off": 250, "t_off": 400}
    w = beat_windows(fid, 225, 500.0)
    assert "P wave" not in w and "PR segment" not in w
    assert w[NO_P] == pytest.approx((-0.2, -0.05)) and w["QRS complex"] == (-0.05, 0.05)
    # a wide QRS starting more than 100 ms before R keeps its own boundaries
    wide = beat_windows(dict(fid, qrs_on=150), 225, 500.0)
    assert wide["QRS complex"][0] == pytest.approx(-0.15)
    attr = np.zeros((12, 1000))
    attr[0, 80:95] = 1.0  # evidence 50-200 ms before each QRS onset (R at 1 s)
    exp = summarise(attr, leads=[f"L{i}" for i in range(12)], fs=100.0, method="x",
                    r_times_s=np.array([1.0]), fiducials=fid, median_r_index=225, median_fs=500.0)
    assert exp.summary.startswith(NO_P) and "P wave" not in exp.summary
    with_p = dict(fid, p_on=100, p_off=150)
    assert list(beat_windows(with_p, 225, 500.0))[:2] == ["P wave", "PR segment"]


def test_integrated_gradients_are_complete_and_gradient_x_input_exact_for_linear_model() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12 * 50, 3))
    x = torch.randn(1, 12, 50)
    gxi = attribute(net, x, [0, 2], method="gradient_x_input")
    w = net[1].weight.detach().reshape(3, 12, 50)
    assert np.allclose(gxi[1], (w[2] * x[0]).numpy(), atol=1e-5)
    deep = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(600, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3))
    ig = attribute(deep, x, [1], method="integrated_gradients", n_steps=32)
    with torch.no_grad():
        gap = (deep(x)[0, 1] - deep(torch.zeros_like(x))[0, 1]).item()
    assert ig[0].sum() == pytest.approx(gap, rel=0.02, abs=1e-3)
    with pytest.raises(ValueError):
        attribute(net, x, [0], method="nope")  # type: ignore[arg-type]
