"""Benchmark of ecglens.measure against expert annotations and NeuroKit2, in one run.

    python -m benchmarks.bench_measure                  # everything (~15 min on 2 busy cores)
    python -m benchmarks.bench_measure --skip-nk-ludb   # without NeuroKit2 delineation of LUDB
    python -m benchmarks.bench_measure --only ludb --skip-nk-ludb --half odd   # develop on odd

Prints:
1. LUDB 1–140 global intervals (P duration, PR, QRS, QT) vs the annotation-derived reference
   (per beat second-earliest onset / second-latest offset over leads, wave counted where
   annotated in ≥ 6 leads, median over beats) and vs the plain min/max rule; mean difference and
   SD for ecglens and NeuroKit2 on the same records; subsets: all, non-paced, odd records (the
   ones thresholds were chosen on), even records (validation).
2. MIT-BIH 100 (30 min): R-peak sensitivity and positive predictivity, 150 ms tolerance.
3. PTB-XL fold 9: simulated electrode swaps (sensitivity, specificity) and AFIB records with P
   duration / PR null.
4. LUDB AF records with P duration / PR null, and sinus records with a P wave found.
5. Speed: one 10 s 12-lead 500 Hz record, ecglens.analyze vs NeuroKit2 ecg_process +
   ecg_delineate on each of the 12 leads, same process, one thread.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one core, as the speed target says

import argparse
import ast
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import wfdb

from ecglens.exceptions import DataError
from ecglens.interpret.pipeline import DEFAULT_BUNDLE, interpret
from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.qrs_net import held_out, use_members
from ecglens.measure.reference import reference_intervals
from ecglens.measure.reversal import (
    CHEST_PAIRS,
    LIMB_SWAPS,
    decision_thresholds,
    detect_reversal,
    swap_leads,
)
from ecglens.models import Predictor, load_predictor
from ecglens.record import make_ecg
from ecglens.runtime import tune_allocator
from ecglens.signal.filters import resample

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ECGLENS_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache"))
KEYS = ("p_duration_ms", "pr_ms", "qrs_ms", "qt_ms")
IEC = {"p_duration_ms": (10, 15), "pr_ms": (10, 10), "qrs_ms": (6, 10), "qt_ms": (12, 30)}
# quoted in issue 3 for ecgdeli's 12-lead output on this kind of reference; printed beside the
# figures measured here for comparison
ECGDELI_QUOTED = {"p_duration_ms": (22, 8), "pr_ms": (6, 7), "qrs_ms": (10, 11), "qt_ms": (-5, 20)}
# ecgdeli (KIT-IBT/ECGdeli, MATLAB, GPL) runs in GNU Octave from a checkout outside the repository
ECGDELI_DIR = Path(os.environ.get("ECGDELI_DIR", CACHE / "ecgdeli"))
ECGDELI_OCTAVE = ROOT / "benchmarks" / "ecgdeli_octave"  # our driver and Octave shims
ECGDELI_HOWTO = ("git clone https://github.com/KIT-IBT/ECGdeli cache/ecgdeli (or set ECGDELI_DIR) "
                 "and apt-get install octave octave-signal")


def ludb_dir() -> Path:
    d = CACHE / "ludb"
    if not (d / "data" / "1.hea").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xJf", str(DATA / "ludb.tar.xz"), "-C", str(CACHE)], check=True)
    return d


def ptbxl_dir() -> Path:
    d = CACHE / "ptbxl"
    if not (d / ".unpacked-folds-1-9").exists():
        subprocess.run([sys.executable, str(DATA / "ptbxl" / "unpack.py"), str(d)], check=True)
        (d / ".unpacked-folds-1-9").touch()
    return d


def nk_intervals(sig: np.ndarray, fs: float) -> dict[str, float | None]:
    """NeuroKit2 per lead (ecg_process + ecg_delineate 'dwt'), median over beats, then over
    leads."""
    import neurokit2 as nk

    per: dict[str, list[float]] = {k: [] for k in KEYS}
    for j in range(sig.shape[1]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s, info = nk.ecg_process(sig[:, j], sampling_rate=fs)
                _, w = nk.ecg_delineate(s["ECG_Clean"], info["ECG_R_Peaks"], sampling_rate=fs,
                                        method="dwt")
        except Exception:  # noqa: BLE001 - NeuroKit2 fails on some leads; skip the lead
            continue
        g = {k: np.asarray(w[k], dtype=float) for k in ("ECG_P_Onsets", "ECG_P_Offsets",
                                                        "ECG_R_Onsets", "ECG_R_Offsets",
                                                        "ECG_T_Offsets")}
        n = min(len(v) for v in g.values())
        g = {k: v[:n] for k, v in g.items()}
        ms = 1000.0 / fs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vals = {
                "p_duration_ms": np.nanmedian(g["ECG_P_Offsets"] - g["ECG_P_Onsets"]) * ms,
                "pr_ms": np.nanmedian(g["ECG_R_Onsets"] - g["ECG_P_Onsets"]) * ms,
                "qrs_ms": np.nanmedian(g["ECG_R_Offsets"] - g["ECG_R_Onsets"]) * ms,
                "qt_ms": np.nanmedian(g["ECG_T_Offsets"] - g["ECG_R_Onsets"]) * ms,
            }
        for k, v in vals.items():
            if np.isfinite(v):
                per[k].append(float(v))
    return {k: (float(np.median(v)) if v else None) for k, v in per.items()}


def ecgdeli_missing() -> str | None:
    """Why ecgdeli cannot run here, or None when Octave and its sources are present."""
    if shutil.which("octave-cli") is None and shutil.which("octave") is None:
        return "GNU Octave is not installed"
    if not (ECGDELI_DIR / "ECG_Processing" / "Annotate_ECG_Multi.m").exists():
        return f"ecgdeli's sources are not in {ECGDELI_DIR}"
    return None


def _ecgdeli_hash() -> str:
    """Hash of ecgdeli's code and of our driver and shims: the cache key of its results."""
    h = hashlib.sha256()
    for f in sorted([*ECGDELI_DIR.rglob("*.m"), *ECGDELI_OCTAVE.glob("*.m")]):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def ecgdeli_beats(records: dict[int, Path]) -> tuple[dict[int, np.ndarray], float]:
    """Per record, one row per synchronised beat: FPT_MultiChannel (13 columns, 1-based samples)
    then ExtractIntervalFeaturesFromFPT's features_sync (8 columns, ms); empty where ecgdeli
    gave nothing. One Octave run over every record not yet in cache/ecgdeli_ludb.json.
    Returns the rows and the Octave wall time of this call (0 when all came from the cache)."""
    cache_file = CACHE / "ecgdeli_ludb.json"
    key = _ecgdeli_hash()
    cached = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    done: dict[str, list[list[float]]] = (cached.get("records", {}) if cached.get("key") == key
                                          else {})
    todo = [i for i in records if str(i) not in done]
    wall = 0.0
    if todo:
        sigs = [wfdb.rdrecord(str(records[i])) for i in todo]
        if any(r.fs != 500 for r in sigs):  # ExtractIntervalFeaturesFromFPT assumes 2 ms samples
            raise DataError("ecgdeli's interval function assumes 500 Hz records")
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "in.mat", Path(tmp) / "out.csv"
            scipy.io.savemat(src, {"ids": np.asarray(todo, dtype=float), "fs": 500.0,
                                   "signals": np.stack([r.p_signal for r in sigs])})
            octave = shutil.which("octave-cli") or "octave"
            t0 = time.perf_counter()
            call = f"addpath('{ECGDELI_OCTAVE}'); run_ludb('{src}', '{out}', '{ECGDELI_DIR}')"
            run = subprocess.run([octave, "--no-gui", "-q", "--eval", call],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 check=False)
            wall = time.perf_counter() - t0
            lines = out.read_text().splitlines() if out.exists() else []
        if not lines:  # Octave itself failed: say why, cache nothing
            tail = " | ".join(run.stderr.strip().splitlines()[-3:])
            raise DataError(f"ecgdeli in Octave produced no output (exit {run.returncode}): {tail}")
        new: dict[str, list[list[float]]] = {str(i): [] for i in todo}
        for line in lines:
            f = line.split(",")
            if f[2] == "ok":
                new[f[0]].append([float(v) for v in f[3:]])
            else:
                print(f"   ecgdeli record {f[0]}: {f[2]}")
        done.update(new)
        CACHE.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"key": key, "records": done}))
    return {i: np.asarray(done[str(i)], dtype=float).reshape(-1, 21) for i in records}, wall


def ecgdeli_intervals(beats: np.ndarray, rule: str = "fiducials") -> dict[str, float | None]:
    """Median over beats of ecgdeli's P duration, PR, QRS, QT (ms) for one record.

    rule "fiducials": differences of FPT_MultiChannel's global fiducials (per beat, Sync_Beats'
    median over leads); positions < 5 are ecgdeli's placeholders for waves it did not find (its
    own interval function drops them too).
    rule "sync": the authors' ExtractIntervalFeaturesFromFPT synchronised features (per beat,
    second-latest offset minus second-earliest onset over leads; PR is its "PQ interval",
    QRS onset minus P onset, not its "PR interval" which ends at the R peak).
    """
    if beats.size == 0:
        return dict.fromkeys(KEYS)
    if rule == "sync":
        f = beats[:, 13:]
        per = {"p_duration_ms": f[:, 0], "pr_ms": f[:, 3], "qrs_ms": f[:, 1], "qt_ms": f[:, 5]}
    else:
        fpt = np.where(beats[:, :13] < 5, np.nan, beats[:, :13])
        pon, poff, qon, qoff, toff = (fpt[:, c - 1] for c in (1, 3, 4, 8, 12))
        per = {k: 2.0 * v for k, v in (("p_duration_ms", poff - pon), ("pr_ms", qon - pon),
                                       ("qrs_ms", qoff - qon), ("qt_ms", toff - qon))}
    return {k: (float(np.median(v[np.isfinite(v)])) if np.isfinite(v).any() else None)
            for k, v in per.items()}


def stats(diffs: list[float]) -> str:
    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return "   n/a"
    return f"{d.mean():+6.1f} / {d.std(ddof=1):5.1f} (n={d.size:3d})"


@functools.cache
def default_predictor() -> Predictor:
    """interpret's default network, loaded once for the LUDB and PTB-XL sections."""
    return load_predictor(DEFAULT_BUNDLE)


def section_ludb(skip_nk: bool, half: str | None = None, skip_ecgdeli: bool = False,
                 rate: float | None = None) -> None:
    d = ludb_dir()
    meta = pd.read_csv(d / "ludb.csv").set_index("ID")
    paced = {i for i in meta.index if str(meta.loc[i, "Cardiac pacing"]).strip() not in ("", "nan")}
    af = {i for i in meta.index if "Atrial fibrillation" in str(meta.loc[i, "Rhythms"])}
    sinus = {i for i in meta.index if "Sinus" in str(meta.loc[i, "Rhythms"])}
    rows = []
    reversal: dict[int, tuple[str | None, str | None]] = {}  # suspected swap, why not assessed
    t0 = time.perf_counter()
    ids = range(1 if half != "even" else 2, 141, 1 if half is None else 2)
    for i in ids:
        rec = d / "data" / str(i)
        ecg = read(rec.with_suffix(".hea"))
        if rate is not None:  # ecglens on the record resampled (anti-aliased) to another rate
            ecg = make_ecg(resample(np.asarray(ecg.signal), ecg.fs, rate), rate, ecg.leads)
        with use_members(held_out(i)):  # the QRS net's member that did not see record i
            a = analyze(ecg)
        m = a.measurements.model_dump()
        reversal[i] = (a.lead_reversal.suspected, a.lead_reversal.not_assessed)
        ref2 = reference_intervals(rec, rule="second")
        refm = reference_intervals(rec, rule="minmax")
        nk = None if skip_nk else nk_intervals(wfdb.rdrecord(str(rec)).p_signal, 500.0)
        rows.append((i, m, ref2, refm, nk, a.p_waves_present))
    print(f"  (LUDB analysed in {time.perf_counter() - t0:.0f} s)")
    why_not = "skipped (--skip-ecgdeli)" if skip_ecgdeli else ecgdeli_missing()
    if why_not is None:
        try:
            beats, wall = ecgdeli_beats({r[0]: d / "data" / str(r[0]) for r in rows})
        except DataError as e:
            why_not = str(e)
    if why_not is None:
        print(f"  (ecgdeli: Octave ran {wall:.0f} s" if wall else "  (ecgdeli: from the cache",
              f"in {ECGDELI_DIR})")
        rows = [r + (ecgdeli_intervals(beats[r[0]], "fiducials"),
                     ecgdeli_intervals(beats[r[0]], "sync")) for r in rows]
    else:
        rows = [r + (None, None) for r in rows]
    subsets = {
        "all 140": lambda i: True,
        "non-paced": lambda i: i not in paced,
        "odd (tuning)": lambda i: i % 2 == 1,
        "even (valid.)": lambda i: i % 2 == 0,
    }
    print("\n1. LUDB 1-140 global intervals: mean difference / SD (ms) vs annotation reference")
    print("   IEC 60601-2-25 limits: " + ", ".join(f"{k} ±{v[0]}/{v[1]}" for k, v in IEC.items()))
    for rule, idx in (("second-earliest/second-latest (issue reference)", 2),
                      ("plain min/max", 3)):
        print(f"\n   reference rule: {rule}")
        print(f"   {'method':<12} {'subset':<14} " + "".join(f"{k:>27}" for k in KEYS))
        methods = [("ecglens", 1)] + ([] if skip_nk else [("NeuroKit2", 4)]) + (
            [] if why_not else [("ecgdeli", 6), ("ecgdeli-sync", 7)])
        for name, mi in methods:
            for sub, keep in subsets.items():
                if name != "ecglens" and sub not in ("all 140", "non-paced"):
                    continue
                cells = []
                for k in KEYS:
                    diffs = [r[mi][k] - r[idx][k] for r in rows if keep(r[0])
                             and r[mi] is not None and r[mi][k] is not None
                             and r[idx][k] is not None]
                    cells.append(f"{stats(diffs):>27}")
                print(f"   {name:<12} {sub:<14} " + "".join(cells))
        print(f"   {'ecgdeli':<12} {'issue 3':<14} " + "".join(
            f"{'{:+6.0f} / {:5.0f} (quoted)'.format(*ECGDELI_QUOTED[k]):>27}" for k in KEYS))
    worst = sorted((r for r in rows if r[1]["qrs_ms"] is not None and r[2]["qrs_ms"] is not None),
                   key=lambda r: -abs(r[1]["qrs_ms"] - r[2]["qrs_ms"]))[:6]
    print("   largest QRS differences (record: ms): "
          + ", ".join(f"{r[0]}: {r[1]['qrs_ms'] - r[2]['qrs_ms']:+.0f}" for r in worst))
    missing = {k: sum(1 for r in rows if r[2][k] is not None and r[1][k] is None) for k in KEYS}
    print(f"\n   ecglens: reference present but value null: {missing}")
    if why_not:
        print(f"   ecgdeli: not run ({why_not}); to run it: {ECGDELI_HOWTO}. Its only row above "
              "repeats the figures quoted in issue 3 (quoted, not measured).")
    else:
        print("   ecgdeli: 12-lead pipeline of its Example/Annotate_ExampleECG.m run in GNU Octave "
              "(benchmarks/ecgdeli_octave/run_ludb.m); 'ecgdeli' = differences of its global "
              "fiducials (FPT_MultiChannel), 'ecgdeli-sync' = its own "
              "ExtractIntervalFeaturesFromFPT"
              " synchronised intervals; 'issue 3' = figures quoted there, not measured here.")
        none = {k: sum(1 for r in rows if r[2][k] is not None and r[6][k] is None) for k in KEYS}
        print(f"   ecgdeli: reference present but value null: {none}")
    af_null = [r for r in rows if r[0] in af]
    n_null = sum(1 for r in af_null if r[1]["pr_ms"] is None and r[1]["p_duration_ms"] is None)
    print(f"\n4. LUDB atrial fibrillation: {n_null}/{len(af_null)} records with P duration and PR "
          f"null; failures: {[r[0] for r in af_null if r[1]['pr_ms'] is not None]}")
    predictor = default_predictor()
    kept = [r[0] for r in af_null
            if interpret(read(d / "data" / f"{r[0]}.hea"), predictor=predictor,
                                               explain=0).measurements.pr_ms is not None]
    print(f"   the same through interpret ({DEFAULT_BUNDLE}): {len(af_null) - len(kept)}/"
          f"{len(af_null)} null; failures: {kept}")
    sin = [r for r in rows if r[0] in sinus and r[0] not in paced]
    print(f"   LUDB sinus rhythm (non-paced): P wave found in "
          f"{sum(r[5] for r in sin)}/{len(sin)}")
    flagged = {i: s for i, (s, _) in reversal.items() if s is not None and i not in paced}
    print(f"   lead reversal (none known in LUDB) flagged in {len(flagged)}/"
          f"{sum(i not in paced for i in reversal)} non-paced records {flagged}; paced records "
          f"not assessed: {sum(reversal[i][1] is not None for i in paced & set(reversal))}/"
          f"{len(paced & set(reversal))}")
    if not skip_nk:
        nk_af = sum(1 for r in af_null if r[4] and r[4]["pr_ms"] is not None)
        print(f"   NeuroKit2 reports a PR interval in {nk_af}/{len(af_null)} AF records")


def section_mitbih() -> None:
    base = DATA / "formats" / "mitbih" / "100"
    rec = wfdb.rdrecord(str(base))
    ann = wfdb.rdann(str(base), "atr")
    beats = set("NLRBAaJSVrFejnE/fQ?")
    ref = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in beats])
    ecg = make_ecg(rec.p_signal, rec.fs, rec.sig_name)
    t0 = time.perf_counter()
    det = analyze(ecg).rpeaks
    dt = time.perf_counter() - t0
    tol = int(0.15 * rec.fs)

    def matched(a: np.ndarray, b: np.ndarray) -> int:
        i = np.clip(np.searchsorted(b, a), 1, len(b) - 1)
        return int((np.minimum(np.abs(b[i] - a), np.abs(b[i - 1] - a)) <= tol).sum())

    se, ppv = matched(ref, det) / len(ref), matched(det, ref) / len(det)
    print(f"\n2. MIT-BIH 100 (30 min, 2 leads): {len(ref)} reference beats, {len(det)} detected; "
          f"Se {se:.2%}, +P {ppv:.2%} (150 ms); analysis {dt:.1f} s")


# diagnoses whose unswapped records are flagged more often than normal ECGs
FALSE_ALARM_CODES = ("NORM", "LVH", "CRBBB", "IMI", "IRBBB", "AFIB", "LAFB", "CLBBB", "PACE")


def section_ptbxl(limit: int) -> None:
    d = ptbxl_dir()
    db = pd.read_csv(d / "ptbxl_database.csv")
    db = db[db.strat_fold == 9]
    if limit:
        db = db.head(limit)
    keys = LIMB_SWAPS + CHEST_PAIRS
    scores: dict[str, list[dict[str, float]]] = {k: [] for k in ("none",) + keys}
    named: dict[str, list[str | None]] = {k: [] for k in ("none",) + keys}
    afib_null, afib_n, n_ok, e2e_agree, e2e_n = 0, 0, 0, 0, 0
    ok_codes: list[set[str]] = []  # the statements of each record with a median beat
    # the same records through `ecglens interpret` (default bundle), whose rhythm finding can
    # withhold P and PR the measurement kept: AFIB with both null, sinus-only with PR kept
    predictor = default_predictor()
    i_afib_null, sr_n, sr_pr, i_sr_pr = 0, 0, 0, 0
    kept_af: list[str] = []
    af_irr: list[float] = []  # RR irregularity of the AFIB and the sinus-only records
    sr_irr: list[float] = []
    leads = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    t0 = time.perf_counter()
    for k, row in enumerate(db.itertuples()):
        rec = wfdb.rdrecord(str(d / row.filename_lr))
        ecg = make_ecg(rec.p_signal, rec.fs, rec.sig_name)
        a = analyze(ecg)
        codes = ast.literal_eval(row.scp_codes)
        is_af, is_sr = "AFIB" in codes, "SR" in codes and not {"AFIB", "AFLT"} & set(codes)
        if is_af or is_sr:
            ir = interpret(ecg, predictor=predictor, explain=0)
            im = ir.measurements
        if is_af:
            afib_n += 1
            afib_null += a.measurements.pr_ms is None and a.measurements.p_duration_ms is None
            i_afib_null += im.pr_ms is None and im.p_duration_ms is None
            if im.pr_ms is not None:  # kept: how regular the rhythm, how sure the network
                atrial = [f.probability for f in ir.findings if f.code in ("AFIB", "AFLT")]
                read_as = f"p {max(atrial):.2f}" if atrial else "not among the findings"
                kept_af.append(f"{row.ecg_id} (RR irregularity {a.rr_irregularity:.3f}, "
                               f"AF/flutter {read_as})")
            af_irr.append(a.rr_irregularity)
        if is_sr:
            sr_n += 1
            sr_pr += a.measurements.pr_ms is not None
            i_sr_pr += im.pr_ms is not None
            sr_irr.append(a.rr_irregularity)
        if a.fiducials["qrs_on"] is None or a.median_beats.shape[1] != 120:
            continue
        n_ok += 1
        ok_codes.append(set(codes))
        for s in ("none",) + keys:
            med = a.median_beats if s == "none" else swap_leads(a.median_beats, s)
            r = detect_reversal(med, leads, a.fiducials, rec.fs)
            scores[s].append(r.scores)
            named[s].append(r.suspected)
        if k < 150:  # end-to-end check of the median-beat shortcut: swap the raw signal instead
            raw = analyze(ecg.replace(signal=swap_leads(np.asarray(ecg.signal).T, "LA/RA").T))
            e2e_n += 1
            e2e_agree += raw.lead_reversal.suspected == named["LA/RA"][-1]
    print(f"\n3. PTB-XL fold 9: {len(db)} records, {n_ok} with a delineated median beat "
          f"({time.perf_counter() - t0:.0f} s). Swaps simulated on the median beats (signed lead "
          f"permutations commute with filtering and the per-lead median).")
    print(f"   end-to-end check on {e2e_n} records (LA/RA applied to the raw signal): "
          f"same verdict as the shortcut in {e2e_agree}/{e2e_n}")
    thresholds = decision_thresholds()
    print(f"   thresholds fixed on folds 1-8: { {k: round(v, 3) for k, v in thresholds.items()} }")
    print(f"   {'swap':<7} {'sensitivity (named)':>20} {'score>=thr':>11} {'specificity':>12}")
    for s in keys:
        thr = thresholds[s]
        sens_named = np.mean([x == s for x in named[s]])
        sens = np.mean([sc[s] >= thr for sc in scores[s]])
        spec = np.mean([sc[s] < thr for sc in scores["none"]])
        print(f"   {s:<7} {sens_named:>20.1%} {sens:>11.1%} {spec:>12.2%}")
    flagged = np.array([x is not None for x in named["none"]])
    print(f"   unswapped records flagged with any swap: {flagged.mean():.2%}; by "
          "statement: " + ", ".join(
        f"{c} {flagged[has].mean():.1%} ({has.sum()})" for c in FALSE_ALARM_CODES
        if (has := np.array([c in cs for cs in ok_codes], bool)).any()))
    print(f"   AFIB records with P duration and PR null: {afib_null}/{afib_n} "
          f"({afib_null / max(afib_n, 1):.1%}); sinus-only records with a PR: {sr_pr}/{sr_n} "
          f"({sr_pr / max(sr_n, 1):.1%})")
    print(f"   stored fold-9 network outputs, AFIB records missed at 1 % of sinus-only records "
          f"called AF: {network_afib_misses(pd.read_csv(d / 'ptbxl_database.csv'))}")
    print(f"   the same through interpret ({DEFAULT_BUNDLE}, rhythm finding withholds P/PR): AFIB "
          f"null {i_afib_null}/{afib_n} ({i_afib_null / max(afib_n, 1):.1%}); sinus-only with a "
          f"PR {i_sr_pr}/{sr_n} ({i_sr_pr / max(sr_n, 1):.1%})")
    if kept_af:
        print(f"   AFIB records still with a PR through interpret: {'; '.join(kept_af)}. RR "
              f"irregularity, median (95th percentile): AFIB {np.median(af_irr):.3f}, sinus-only "
              f"{np.median(sr_irr):.3f} ({np.quantile(sr_irr, 0.95):.3f})")


def network_afib_misses(db: pd.DataFrame) -> str:
    """AFIB records each stored fold-9 network output misses where 1 % of sinus-only records
    score as AF (``weights/ptbxl-ensemble/fold9_outputs.npz``, the 'all' task's AFIB column)."""
    z = np.load(ROOT / "src" / "ecglens" / "weights" / "ptbxl-ensemble" / "fold9_outputs.npz")
    codes = db.set_index("ecg_id").loc[z["ecg_ids"]].scp_codes.map(ast.literal_eval)
    af = codes.map(lambda c: "AFIB" in c).to_numpy()
    sr = codes.map(lambda c: "SR" in c and not {"AFIB", "AFLT"} & set(c)).to_numpy()
    meta = ROOT / "src" / "ecglens" / "weights" / "ptbxl-fast" / "resnet1d_wang_s0.json"
    labels = json.loads(meta.read_text())["layout"]["labels"]
    col = labels["all"].index("AFIB")  # each output row starts with the "all" task's labels
    out = []
    for member in ("resnet1d_wang_s0", "xresnet1d101_s0"):
        s = z[member][:, col].astype(float)
        thr = np.quantile(s[sr], 0.99)
        out.append(f"{member} {int((s[af] < thr).sum())}/{int(af.sum())}")
    return ", ".join(out)


def section_speed(n_runs: int, tune: bool = True) -> None:
    import neurokit2 as nk

    # the allocator thresholds the ecglens CLI and server set at start-up (ecglens.runtime)
    tuned = tune_allocator() if tune else False

    rec = ludb_dir() / "data" / "1"
    ecg = read(rec.with_suffix(".hea"))
    sig = np.asarray(ecg.signal)
    analyze(ecg)
    # wall-clock and CPU time of this process: on a shared machine the wall clock also counts
    # the time other processes hold the core, the CPU time only our own work
    ours, ours_cpu, rule_cpu = [], [], []
    for _ in range(n_runs):
        t, c = time.perf_counter(), time.process_time()
        analyze(ecg)
        ours.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
        with use_members(set()):  # interleaved: the same without the learned QRS delineator
            c = time.process_time()
            analyze(ecg)
            rule_cpu.append(time.process_time() - c)
    theirs, theirs_cpu = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j in range(12):
                s, info = nk.ecg_process(sig[:, j], sampling_rate=500)
                nk.ecg_delineate(s["ECG_Clean"], info["ECG_R_Peaks"], sampling_rate=500,
                                 method="dwt")
        theirs.append(time.perf_counter() - t)
        theirs_cpu.append(time.process_time() - c)
    mo, mt = np.median(ours) * 1000, np.median(theirs) * 1000
    co, ct = np.median(ours_cpu) * 1000, np.median(theirs_cpu) * 1000
    print(f"\n5. Speed, LUDB 1 (10 s, 12 leads, 500 Hz), one thread, same process "
          f"({n_runs} runs ecglens, 3 runs NeuroKit2 ecg_process + ecg_delineate x 12 leads):")
    print(f"   wall clock: ecglens.analyze median {mo:.1f} ms (min {np.min(ours) * 1000:.1f}); "
          f"NeuroKit2 median {mt:.0f} ms; ratio {mt / mo:.0f}x")
    print(f"   CPU time:   ecglens.analyze median {co:.1f} ms; NeuroKit2 median {ct:.0f} ms; "
          f"ratio {ct / co:.0f}x")
    print(f"   CPU time without the learned QRS delineator (velocity rule only, interleaved): "
          f"median {np.median(rule_cpu) * 1000:.1f} ms; the net adds "
          f"{np.median(np.array(ours_cpu) - np.array(rule_cpu)) * 1000:.1f} ms (median of pairs)")
    print(f"   allocator thresholds as the ecglens CLI and server set them: "
          f"{'yes' if tuned else 'no (--no-tune, or not glibc)'}")
    print(f"   load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-nk-ludb", action="store_true")
    ap.add_argument("--ptbxl-limit", type=int, default=0, help="first N fold-9 records (0 = all)")
    ap.add_argument("--speed-runs", type=int, default=50)
    ap.add_argument("--no-tune", action="store_true",
                    help="time analyze with glibc's default allocator thresholds")
    ap.add_argument("--ludb-rate", type=float, default=None,
                    help="resample LUDB to this rate (Hz) before ecglens measures it")
    ap.add_argument("--only", choices=["ludb", "mitbih", "ptbxl", "speed"], default=None)
    ap.add_argument("--half", choices=["odd", "even"], default=None,
                    help="LUDB: only the odd (development) or even (validation) records")
    ap.add_argument("--skip-ecgdeli", action="store_true",
                    help="LUDB: do not run ecgdeli in GNU Octave (nor read its cached results)")
    a = ap.parse_args()
    print(f"ecglens measurement benchmark; python {sys.version.split()[0]}")
    if a.only in (None, "speed"):
        section_speed(a.speed_runs, not a.no_tune)
    if a.only in (None, "mitbih"):
        section_mitbih()
    if a.only in (None, "ludb"):
        section_ludb(a.skip_nk_ludb, a.half, a.skip_ecgdeli, a.ludb_rate)
    if a.only in (None, "ptbxl"):
        section_ptbxl(a.ptbxl_limit)


if __name__ == "__main__":
    main()
