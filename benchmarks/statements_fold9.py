"""Statement engine on PTB-XL fold 9 (selection data): the issue's done-when rows, before/after.

    python -m benchmarks.statements_fold9 PTBXL_DIR [--model ptbxl-fast] [--max-records N]
                                          [--cache FILE]

Every fold-9 record goes through ``interpret`` (no explanations) with the statement engine off;
the network findings, the reconciled measurement report, the RR variability and the patient's
sex (from ``ptbxl_database.csv``: PTB-XL headers carry none) are kept, then

* **before**: the findings as ``interpret`` gave them up to schema 1.3 (headline = confident);
* **after**: ``build_statements`` on the same inputs, the function ``interpret`` calls.

Both are scored against the cardiologists' SCP codes (the keys of ``scp_codes``, any
likelihood). Sample-averaged precision/recall/F1 use the 71 PTB-XL statements only (ecglens'
own codes such as LAD/RAD have no PTB-XL counterpart); a record with no headline statement
counts precision 0 (scikit-learn's ``zero_division=0``). Fold 9 is the selection data: every
threshold in the engine was chosen on it, so these figures are optimistic for new data.
``--cache FILE`` keeps the network/measurement pass (a pickle) so the rules can be re-scored.
"""

from __future__ import annotations

import argparse
import ast
import pickle
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ecglens.interpret.labels import STATEMENTS, statement
from ecglens.interpret.pipeline import DEFAULT_BUNDLE, interpret
from ecglens.interpret.result import Finding
from ecglens.interpret.statements import Evidence, build_statements
from ecglens.io import read
from ecglens.measure.analysis import analyze
from ecglens.models import load_predictor

_MORPH = {"infarction/ischemia", "hypertrophy"}


def collect(root: Path, model: str, limit: int) -> list[dict[str, Any]]:
    db = pd.read_csv(root / "ptbxl_database.csv")
    db = db[db.strat_fold == 9]
    if limit:
        db = db.head(limit)
    pred = load_predictor(model)
    rows = []
    t0 = time.perf_counter()
    for k, rec in enumerate(db.itertuples()):
        ecg = read(root / f"{rec.filename_lr}.hea")
        sex = "F" if rec.sex == 1 else "M"
        ecg = ecg.replace(patient=ecg.patient.model_copy(update={"sex": sex}))
        r = interpret(ecg, predictor=pred, explain=0, statement_engine=False)
        try:
            rr_cv: float | None = analyze(ecg).rr_cv
        except ValueError:
            rr_cv = None
        rows.append({"ecg_id": rec.ecg_id, "truth": set(ast.literal_eval(rec.scp_codes)),
                     "findings": [f.model_dump(exclude={"explanation"}) for f in r.findings],
                     "report": r.measurement.model_copy(update={"median_beats": None}),
                     "rr_cv": rr_cv, "sex": sex, "abstained": r.abstention.abstained,
                     "caution": bool(r.abstention.caution)})
        if (k + 1) % 200 == 0:
            print(f"  {k + 1} records, {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def _prf(pred: set[str], truth: set[str]) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(rows: list[dict[str, Any]], outputs: list[list[Finding]]) -> dict[str, str]:
    ptbxl = set(STATEMENTS)  # the 71; ecglens' own codes (LAD, RAD, RHYUND) are left out
    n = len(rows)
    head_p = head_r = head_f = all_r = all_p = 0.0
    first_possible = 0
    rhythm: dict[str, list[int]] = {c: [0, 0, 0] for c in
                                    ("SR", "SBRAD", "STACH", "SARRH", "AFIB", "1AVB")}
    sinus_only = sinus_af = normal = norm_head = norm_list = 0
    # sensitivity of the morphology categories on the records the cardiologists labelled
    cat_hits: dict[str, list[int]] = {c: [0, 0] for c in sorted(_MORPH)}
    for row, out in zip(rows, outputs, strict=True):
        truth = row["truth"]
        head = {f.code for f in out if f.confident and f.code in ptbxl}
        listed = {f.code for f in out if f.code in ptbxl}
        p, r, f1 = _prf(head, truth)
        head_p, head_r, head_f = head_p + p, head_r + r, head_f + f1
        lp, lr, _ = _prf(listed, truth)
        all_r += lr
        all_p += lp
        first_possible += bool(out) and not out[0].confident
        for code, c in rhythm.items():
            c[0] += code in truth
            c[1] += code in truth and code in head
            c[2] += code in head
        rhythm_truth = truth & {"SR", "SBRAD", "STACH", "SARRH", "AFIB", "AFLT", "PACE", "SVTAC",
                                "PSVT", "SVARR", "BIGU", "TRIGU", "PVC", "PAC", "PRC(S)"}
        if rhythm_truth and rhythm_truth <= {"SR", "SBRAD", "STACH", "SARRH"}:
            sinus_only += 1
            sinus_af += "AFIB" in head
        for cat, c in cat_hits.items():
            if any(statement(t).category == cat for t in truth & ptbxl):
                c[0] += 1
                c[1] += any(statement(f.code).category == cat for f in out if f.confident)
        if truth and truth <= {"NORM", "SR"}:
            normal += 1
            cats = [statement(f.code).category for f in out if f.confident]
            norm_head += any(c in _MORPH for c in cats)
            norm_list += any(statement(f.code).category in _MORPH for f in out)
    res = {
        "headline precision / recall / F1 (sample-averaged, 71 statements)":
            f"{head_p / n:.3f} / {head_r / n:.3f} / {head_f / n:.3f}",
        "all listed statements: precision / recall": f"{all_p / n:.3f} / {all_r / n:.3f}",
        "records whose first statement is 'possible'":
            f"{first_possible} ({100 * first_possible / n:.1f} %)",
    }
    for code, (tot, hit, said) in rhythm.items():
        prec = f", precision {100 * hit / said:.1f} %" if said else ""
        res[f"{code} stated (headline) in {code} records"] = \
            f"{hit}/{tot} ({100 * hit / max(tot, 1):.1f} %){prec}"
    res["sinus-only records called AF (headline)"] = \
        f"{sinus_af}/{sinus_only} ({100 * sinus_af / max(sinus_only, 1):.2f} %)"
    res["NORM/SR-only records with infarction/ischemia/hypertrophy: headline"] = \
        f"{norm_head}/{normal} ({100 * norm_head / max(normal, 1):.2f} %)"
    res["... listed"] = f"{norm_list}/{normal} ({100 * norm_list / max(normal, 1):.2f} %)"
    for cat, (tot, hit) in cat_hits.items():
        res[f"{cat} records with a headline {cat} statement (sensitivity)"] = \
            f"{hit}/{tot} ({100 * hit / max(tot, 1):.1f} %)"
    return res


def after(row: dict[str, Any]) -> list[Finding]:
    if row["abstained"]:
        return []
    findings = [Finding(**f) for f in row["findings"]]
    ev = Evidence.from_report(row["report"], sex=row["sex"], rr_cv=row["rr_cv"])
    return build_statements(findings, ev, caution=row["caution"]).findings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ptbxl", type=Path, help="PTB-XL folder (ptbxl_database.csv, records100/)")
    ap.add_argument("--model", default=DEFAULT_BUNDLE)
    ap.add_argument("--max-records", type=int, default=0, help="first N fold-9 records (0: all)")
    ap.add_argument("--cache", type=Path, help="pickle of the network/measurement pass")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cache is not None and args.cache.exists():
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = collect(args.ptbxl, args.model, args.max_records)
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(rows))
    before = [[] if r["abstained"] else [Finding(**f) for f in r["findings"]] for r in rows]
    b, a = score(rows, before), score(rows, [after(r) for r in rows])
    print(f"PTB-XL fold 9 (selection data), {len(rows)} records, model {args.model}\n")
    print("| row | before (network findings) | after (statement engine) |\n|---|---|---|")
    for k in b:
        print(f"| {k} | {b[k]} | {a[k]} |")


if __name__ == "__main__":
    main()
