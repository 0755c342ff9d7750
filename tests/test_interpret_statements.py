"""The statement engine's rules on hand-built evidence, and its contract in ``interpret --json``."""

import json
from pathlib import Path

from ecglens.cli import main
from ecglens.interpret.labels import statement
from ecglens.interpret.result import Finding
from ecglens.interpret.statements import Evidence, build_statements, overall

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "ecglens" / "examples" / "E07500.hea"
SINUS = {"p_waves_present": True, "rr_irregular": False, "rr_cv": 0.02, "pr_ms": 160.0,
         "qrs_ms": 90.0, "qtc_ms": 420.0, "qrs_axis_deg": 40.0, "sex": "M"}


def net(code: str, p: float, confident: bool | None = None) -> Finding:
    info = statement(code)
    return Finding(code=code, label=info.label, category=info.category, priority=info.priority,
                   probability=p, threshold=0.05, threshold_high_specificity=0.3,
                   confident=p >= 0.5 if confident is None else confident)


def run(findings: list[Finding], **ev: object):  # type: ignore[no-untyped-def]
    return build_statements(findings, Evidence(**{**SINUS, **ev}))  # type: ignore[arg-type]


def codes(s) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in s.findings]


def rhythm_codes(s) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in s.findings if f.category == "rhythm"]


def test_sinus_named_by_measured_rate_one_rhythm() -> None:
    # the Quickstart case: the network says SR, the rate is 57 bpm
    s = run([net("SR", 0.9), net("STACH", 0.6)], heart_rate_bpm=47.0)
    assert rhythm_codes(s) == ["SBRAD"] and s.findings[0].source == "measurement"
    assert s.findings[0].probability is None and s.findings[0].confident
    assert {f.finding for f in s.flags} == {"SR", "STACH"}  # the overruled readings stay visible
    assert rhythm_codes(run([net("STACH", 0.7)], heart_rate_bpm=81.0)) == ["SR"]
    assert rhythm_codes(run([], heart_rate_bpm=120.0)) == ["STACH"]
    # 50-60 / 100-105 bpm: the network's reading of the record decides between the two
    assert rhythm_codes(run([net("SR", 0.9), net("SBRAD", 0.4, False)],
                            heart_rate_bpm=57.0)) == ["SR"]
    assert rhythm_codes(run([net("SR", 0.3, False), net("SBRAD", 0.6)],
                            heart_rate_bpm=57.0)) == ["SBRAD"]
    s = run([net("SR", 0.9)], heart_rate_bpm=75.0)
    assert rhythm_codes(s) == ["SR"] and s.findings[0].source == "both"


def test_sinus_arrhythmia_by_rr_variability_without_ectopy() -> None:
    assert rhythm_codes(run([], heart_rate_bpm=70.0, rr_cv=0.15)) == ["SARRH"]
    assert rhythm_codes(run([], heart_rate_bpm=70.0, rr_cv=0.15, premature_sv=1)) == ["SR"]


def test_af_needs_network_and_measurement_or_a_very_likely_network() -> None:
    s = run([net("AFIB", 0.8), net("SR", 0.3, False)], heart_rate_bpm=90.0, rr_irregular=True,
            p_waves_present=False)
    assert rhythm_codes(s) == ["AFIB"] and s.findings[0].source == "both"
    assert rhythm_codes(run([net("AFIB", 0.6)], heart_rate_bpm=80.0)) == ["SR"]
    s = run([net("AFIB", 0.95)], heart_rate_bpm=80.0)
    assert rhythm_codes(s) == ["AFIB"] and s.findings[0].source == "network"
    # no P, network not sinus: the rule does not guess
    assert rhythm_codes(run([], heart_rate_bpm=80.0, p_waves_present=False)) == ["RHYUND"]


def test_paced_from_spikes_or_network() -> None:
    s = run([], heart_rate_bpm=70.0, paced=True)
    assert rhythm_codes(s) == ["PACE"] and s.findings[0].source == "measurement"
    assert rhythm_codes(run([net("PACE", 0.9)], heart_rate_bpm=70.0)) == ["PACE"]


def test_first_degree_block_by_pr_and_complete_block_against_a_steady_pr() -> None:
    s = run([net("SR", 0.9)], heart_rate_bpm=70.0, pr_ms=236.0)
    assert "1AVB" in codes(s) and s.findings[codes(s).index("1AVB")].source == "measurement"
    assert s.findings[codes(s).index("1AVB")].confident
    s = run([net("SR", 0.9)], heart_rate_bpm=70.0, pr_ms=210.0)  # borderline PR, network silent
    assert not s.findings[codes(s).index("1AVB")].confident
    s = run([net("SR", 0.9), net("1AVB", 0.8), net("LPR", 0.4, False)], heart_rate_bpm=70.0,
            pr_ms=236.0)
    assert codes(s).count("1AVB") == 1 and "LPR" not in codes(s)
    assert s.findings[codes(s).index("1AVB")].source == "both"
    s = run([net("SR", 0.9), net("1AVB", 0.8)], heart_rate_bpm=70.0, pr_ms=170.0)
    assert not s.findings[codes(s).index("1AVB")].confident
    s = run([net("SR", 0.9), net("IMI", 0.9), net("3AVB", 0.09, False)], heart_rate_bpm=70.0,
            pr_ms=154.0)
    assert "3AVB" not in codes(s) and any(f.finding == "3AVB" for f in s.flags)
    # no 1st-degree block stated from the PR in atrial fibrillation
    s = run([net("AFIB", 0.95)], heart_rate_bpm=90.0, pr_ms=240.0, rr_irregular=True)
    assert "1AVB" not in codes(s)


def test_axis_and_long_qt() -> None:
    assert "LAD" in codes(run([], heart_rate_bpm=70.0, qrs_axis_deg=-45.0))
    assert "LAD" not in codes(run([net("LAFB", 0.9)], heart_rate_bpm=70.0, qrs_axis_deg=-45.0))
    assert "RAD" in codes(run([], heart_rate_bpm=70.0, qrs_axis_deg=110.0))
    s = run([], heart_rate_bpm=70.0, qtc_ms=475.0, sex="M")
    assert "LNGQT" in codes(s) and not s.findings[codes(s).index("LNGQT")].confident
    assert "LNGQT" not in codes(run([], heart_rate_bpm=70.0, qtc_ms=475.0, sex="F"))
    s = run([net("LNGQT", 0.3, False)], heart_rate_bpm=70.0, qtc_ms=490.0, sex="F")
    assert s.findings[codes(s).index("LNGQT")].confident  # both agree: a headline
    s = run([net("LNGQT", 0.8)], heart_rate_bpm=70.0, qtc_ms=420.0)
    assert not s.findings[codes(s).index("LNGQT")].confident


def test_headlines_first_normal_resolved_and_overall_line() -> None:
    s = run([net("SR", 0.9), net("AMI", 0.08, False), net("IRBBB", 0.7), net("NORM", 0.6)],
            heart_rate_bpm=70.0)
    assert s.findings[0].confident and "NORM" not in codes(s)  # no normal next to IRBBB
    assert [f.confident for f in s.findings] == sorted((f.confident for f in s.findings),
                                                       reverse=True)
    assert s.summary == "borderline" and s.lines[-1] == "Borderline ECG"
    assert s.lines[codes(s).index("AMI")].endswith("(possible)")
    s = run([net("SR", 0.9), net("NORM", 0.9), net("AMI", 0.08, False)], heart_rate_bpm=70.0)
    assert codes(s) == ["SR", "NORM"] and s.summary == "normal"  # outweighed: not listed
    assert s.lines == ["Sinus rhythm", "Normal ECG"]
    s = run([net("NORM", 0.9)], heart_rate_bpm=55.0)
    assert s.summary == "otherwise normal" and s.lines[-1] == "Otherwise normal ECG"
    assert run([net("SR", 0.9), net("CLBBB", 0.9)], heart_rate_bpm=70.0,
               qrs_ms=150.0).summary == "abnormal"
    assert overall([]) == "normal"


def test_caution_leaves_no_headline() -> None:
    s = build_statements([net("SR", 0.9), net("AMI", 0.9)],
                         Evidence(**{**SINUS, "heart_rate_bpm": 70.0}), caution=True)  # type: ignore[arg-type]
    assert [f.code for f in s.findings if f.confident] == ["SR"]  # measured rhythm only
    s = build_statements([net("AFIB", 0.95)],
                         Evidence(**{**SINUS, "heart_rate_bpm": 70.0}), caution=True)  # type: ignore[arg-type]
    assert not any(f.confident for f in s.findings)


def test_interpret_json_contract_on_example(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["interpret", str(EXAMPLE), "--json", "--explain", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"] in ("normal", "otherwise normal", "borderline", "abnormal")
    assert out["statements"] and all(isinstance(s, str) for s in out["statements"])
    findings = out["findings"]
    assert findings and findings[0]["confident"] is True
    for f in findings:
        assert {"code", "label", "probability", "confident", "source"} <= set(f)
        assert f["source"] in ("network", "measurement", "both")
        assert (f["probability"] is None) == (f["source"] == "measurement") or f["code"] == "NORM"
    assert [f["label"] + ("" if f["confident"] else " (possible)") for f in findings] == \
        out["statements"][:len(findings)]
    assert findings[0]["category"] == "rhythm"
