"""``ecglens import DIR``: bulk import into the service's store, with a progress bar.

Works beside a running server (same data folder and database): imported ECGs are queued and
the server's worker interprets them. ``--process`` interprets them here instead.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import sys
from pathlib import Path

from ecglens.cli.common import _wfdb_companions, expand_inputs, print_json, progress, rel
from ecglens.cli.serve import add_store_options, open_service


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="bulk-import ECG files into the service's store",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("path", help="a folder (searched recursively) or one file")
    p.add_argument("--process", action="store_true",
                   help="interpret the imported ECGs now instead of leaving them to the server")
    p.add_argument("--deidentify", action="store_true", default=None,
                   help="de-identify before storing (env ECGLENS_DEIDENTIFY=1)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    add_store_options(p)
    p.set_defaults(func=_run)


def record_files(main: Path) -> list[Path]:
    """The files of one record: a WFDB header with the signal files it names; else itself."""
    if main.suffix.lower() != ".hea":
        return [main]
    return [main, *sorted(f for f in _wfdb_companions([main]) if f.is_file())]


def _run(args: argparse.Namespace) -> int:
    from ecglens.serve.ingest import ingest
    from ecglens.serve.worker import Worker

    files, _ = expand_inputs(args.path)
    actor = f"cli:{getpass.getuser()}"
    rows: list[dict[str, object]] = []
    with open_service(args, deidentify=args.deidentify) as svc:
        for f in progress(files, desc="import"):
            spool = svc.store.new_spool()
            row: dict[str, object] = {"file": rel(f, args.path)}
            try:
                for part in record_files(f):
                    shutil.copyfile(part, spool / part.name)
                got = ingest(svc, spool, actor)
                row.update(id=got.ecg.id, status="new" if got.created else "duplicate")
            except Exception as exc:  # noqa: BLE001 - report it and go on with the next file
                svc.store.discard(spool)
                row.update(status="refused", error=getattr(exc, "problem", None) or str(exc))
            rows.append(row)
        if args.process:
            Worker(svc, "import").drain()
    if args.json:
        print_json(rows)
    new = sum(r["status"] == "new" for r in rows)
    dup = sum(r["status"] == "duplicate" for r in rows)
    bad = [r for r in rows if r["status"] == "refused"]
    for r in bad:
        print(f"refused {r['file']}: {r['error']}", file=sys.stderr)
    print(f"{new} imported, {dup} already present, {len(bad)} refused"
          + (" (interpreted)" if args.process else " (queued for the server)"), file=sys.stderr)
    return 1 if bad and not new and not dup else 0
