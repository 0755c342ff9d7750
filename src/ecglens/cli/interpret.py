"""``ecglens interpret FILE|DIR [--json] [--pdf OUT.pdf] [--png OUT.png] [--fhir OUT.json]``.

One file: a readable summary (or the full JSON), and the reports asked for. A directory: every
ECG in it, a progress bar on stderr, one summary table (or one JSON list); report options then
name output folders that receive one report per record, mirroring the input tree
(``in/a/ecg.xml`` -> ``OUT/a/ecg.pdf``), so records of the same name in different folders keep
their own report; two records of one folder that differ only in extension keep it in the name
(``ecg.xml.pdf``, ``ecg.hea.pdf``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ecglens.cli.common import expand_inputs, print_json, rel, run_many
from ecglens.exceptions import EcglensError, ModelError
from ecglens.interpret.pipeline import DEFAULT_BUNDLE
from ecglens.interpret.result import Interpretation
from ecglens.io import read


def _load_predictor(name: str) -> Any:
    try:
        from ecglens.models import load_predictor
    except ImportError as exc:
        raise ModelError(f"the diagnostic model is not available in this installation ({exc})") \
            from None
    return load_predictor(name)


def _write(kind: str, path: Path, write: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as exc:
        raise EcglensError(f"{path}: cannot write the {kind} report ({exc.strerror or exc})") \
            from None


_REPORTS = (("pdf", ".pdf"), ("png", ".png"), ("fhir", ".fhir.json"))


def report_names(files: list[Path], root: str) -> dict[Path, Path]:
    """Each input's report path relative to an output folder, without the report suffix:
    the input's path under ``root`` without its extension, or with it where two inputs of one
    folder would otherwise share a name (case-insensitively: a report folder may live on a
    case-insensitive file system)."""
    stems = {f: Path(rel(f, root)).with_suffix("") for f in files}
    seen: dict[str, int] = {}
    for stem in stems.values():
        seen[str(stem).lower()] = seen.get(str(stem).lower(), 0) + 1
    return {f: (Path(rel(f, root)) if seen[str(stem).lower()] > 1 else stem)
            for f, stem in stems.items()}


def _outputs(args: argparse.Namespace, names: dict[Path, Path] | None,
             src: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for kind, suffix in _REPORTS:
        target = getattr(args, kind)
        if target:
            out[kind] = (Path(target) / f"{names[src]}{suffix}" if names is not None
                         else Path(target))
    return out


def _one(args: argparse.Namespace, predictor: Any, src: Path,
         names: dict[Path, Path] | None) -> Interpretation:
    from ecglens.interpret.pipeline import interpret

    ecg = read(src)
    outputs = _outputs(args, names, src)
    explain = None if args.explain < 0 else args.explain
    if not outputs and not args.json and explain is None:
        explain = 1  # the text summary shows where the network looked for the top finding
    result = interpret(ecg, predictor=predictor, source=src, explain=explain,
                       method=args.method, show_patient=args.show_patient)
    if "pdf" in outputs or "png" in outputs:
        from ecglens.report.pages import write_pdf, write_png
        if "pdf" in outputs:
            _write("PDF", outputs["pdf"], lambda p: write_pdf(ecg, result, p))
        if "png" in outputs:
            _write("PNG", outputs["png"], lambda p: write_png(ecg, result, p))
    if "fhir" in outputs:
        from ecglens.report.fhir import to_json
        _write("FHIR", outputs["fhir"], lambda p: p.write_text(to_json(result)))
    return result


def _text(r: Interpretation) -> str:
    m = r.measurements
    def v(x: float | None, unit: str) -> str:
        return "—" if x is None else f"{x:.0f} {unit}"
    lines = [
        (f"record: {r.record.file} ({r.record.format}, {len(r.record.leads)} leads, "
        f"{r.record.sampling_rate_hz:g} Hz, {r.record.duration_s:.1f} s)"),
        f"quality: {r.quality.verdict}"
        + (f" ({'; '.join(r.quality.reasons)})" if r.quality.reasons else ""),
        (f"rate {v(m.heart_rate_bpm, 'bpm')}, PR {v(m.pr_ms, 'ms')}, QRS {v(m.qrs_ms, 'ms')}, "
        f"QT/QTcB {v(m.qt_ms, 'ms')}/{v(m.qtc_bazett_ms, 'ms')}, "
        f"axes P/QRS/T {v(m.p_axis_deg, '°')}/{v(m.qrs_axis_deg, '°')}/{v(m.t_axis_deg, '°')}"),
    ]
    if r.lead_reversal.suspected:
        lines.append(f"WARNING: suspected lead reversal {r.lead_reversal.suspected} "
                     f"({r.lead_reversal.rarity()})")
    if r.abstention.abstained:
        lines.append("NO INTERPRETATION: " + "; ".join(r.abstention.reasons))
    elif not r.findings:
        lines.append("findings: none above threshold")
    lines += [f"CAUTION: {c}" for c in r.abstention.caution]
    if r.statements:
        lines.append("statements:")
        lines += [f"  {s}" for s in r.statements]
    if r.findings:
        lines.append("evidence:")
    for f in r.findings:
        tag = "" if f.confident else " (possible)"
        p = "" if f.probability is None else f"p={f.probability:.2f}, "
        lines.append(f"  {f.label}{tag}: {p}{f.source} [{f.category}]")
        if f.explanation is not None:
            lines.append(f"      evidence: {f.explanation.summary}")
    for c in r.consistency:
        lines.append(f"CHECK: {c.message}")
    if r.ecg_age is not None:
        diff = ("" if r.ecg_age.difference_years is None
                else f" ({r.ecg_age.difference_years:+.0f} y vs stated age)")
        lines.append(f"ECG-age: {r.ecg_age.predicted_years:.0f} y{diff}")
    return "\n".join(lines)


def _row(r: Interpretation) -> str:
    m = r.measurements
    hr = "—" if m.heart_rate_bpm is None else f"{m.heart_rate_bpm:.0f}"
    qrs = "—" if m.qrs_ms is None else f"{m.qrs_ms:.0f}"
    if r.abstention.abstained:
        what = "ABSTAINED: " + (r.abstention.reasons[0] if r.abstention.reasons else "")
    else:
        what = ", ".join(f.code if f.probability is None else f"{f.code} {f.probability:.2f}"
                         for f in r.findings[:4]) or "—"
        if r.summary:
            what = f"[{r.summary}] {what}"
    flags = f"{len(r.consistency)} flag(s)" if r.consistency else ""
    return f"{r.quality.verdict:<12} {hr:>4} {qrs:>4}  {what}  {flags}".rstrip()


def _run(args: argparse.Namespace) -> int:
    predictor = _load_predictor(args.model)
    names: dict[Path, Path] | None = None
    if Path(args.path).is_dir() and any(getattr(args, k) for k, _ in _REPORTS):
        names = report_names(expand_inputs(args.path)[0], args.path)
    results, is_dir = run_many(
        args.path, lambda f: {"r": _one(args, predictor, f, names)}, desc="interpreting")
    if not is_dir:
        first = results[0][1]
        assert first is not None  # run_many raises for a single file that fails
        r = first["r"]
        if args.json:
            print_json(r.model_dump(mode="json"))
        else:
            print(_text(r))
        return 0
    failed = [(f, err) for f, _, err in results if err]
    if args.json:
        print_json({
            "n_files": len(results), "n_failed": len(failed),
            "interpretations": [d["r"].model_dump(mode="json") for _, d, _ in results if d],
            "errors": [{"file": str(f), "error": e} for f, e in failed],
        })
    else:
        print(f"{'file':<40} {'quality':<12} {'HR':>4} {'QRS':>4}  findings")
        for f, d, err in results:
            name = rel(f, args.path)
            print(f"{name:<40} " + (_row(d["r"]) if d else f"ERROR: {err}"))
        n_abst = sum(1 for _, d, _ in results if d and d["r"].abstention.abstained)
        print(f"{len(results)} files: {len(results) - len(failed) - n_abst} interpreted, "
              f"{n_abst} abstained, {len(failed)} failed")
    for f, err in failed:
        print(f"ecglens: error: {f}: {err}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("interpret", help="findings, measurements and explanations; PDF/PNG/FHIR "
                       "reports")
    p.add_argument("path", help="ECG file or directory of ECG files")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--model", default=DEFAULT_BUNDLE,
                   help=f"model bundle name or folder (default: {DEFAULT_BUNDLE}; "
                   "ptbxl-ensemble is the nine-network ensemble, slower)")
    p.add_argument("--pdf", metavar="OUT.pdf", help="write the ECG-paper report (a folder for "
                   "a directory input: it mirrors the input tree)")
    p.add_argument("--png", metavar="OUT.png", help="write page 1 of the report as PNG")
    p.add_argument("--fhir", metavar="OUT.json", help="write a FHIR R4 DiagnosticReport bundle")
    p.add_argument("--show-patient", action="store_true",
                   help="keep name, ID, birth date and acquisition time (de-identified by default)")
    p.add_argument("--explain", type=int, default=-1, metavar="N",
                   help="explain the first N findings (default: all; 0: none, fastest)")
    p.add_argument("--method", choices=["integrated_gradients", "gradient_x_input"],
                   default="gradient_x_input",
                   help="attribution method (integrated gradients: more faithful, ~10× slower)")
    p.set_defaults(func=_run)
