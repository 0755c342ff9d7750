"""``ecglens retry ID... | --failed [--process]``: queue failed ECGs of the service again.

Only ECGs that failed because processing was interrupted or erred are retried; a file the
reader refused (``bad_file``) is not: the same bytes would fail the same way. Works beside a
running server (same data folder and database): its worker picks the ECGs up; ``--process``
interprets them here instead. Every retry is in the audit log, by ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from ecglens.cli.common import print_json
from ecglens.cli.serve import add_store_options, open_service
from ecglens.exceptions import EcglensError, NotRetryable


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("retry", help="queue failed ECGs of the service again",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="ECG ids to queue again")
    p.add_argument("--failed", action="store_true",
                   help="every failed ECG that can be retried (interrupted or erred)")
    p.add_argument("--process", action="store_true",
                   help="interpret them now instead of leaving them to the server")
    p.add_argument("--json", action="store_true", help="print one JSON object per ECG")
    add_store_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from ecglens.serve import audit
    from ecglens.serve.tables import Ecg
    from ecglens.serve.worker import RETRYABLE, Worker, retry

    if bool(args.ids) == args.failed:
        raise EcglensError("give ECG ids or --failed (one of the two)")
    actor = f"cli:{getpass.getuser()}"
    rows: list[dict[str, Any]] = []
    with open_service(args) as svc:
        if args.failed:
            with svc.session() as s:
                ids = list(s.scalars(select(Ecg.id).where(Ecg.status == "failed",
                                                          Ecg.failure_kind.in_(RETRYABLE))
                                     .order_by(Ecg.id)))
        else:
            ids = list(dict.fromkeys(args.ids))
        for ecg_id in ids:
            try:
                with svc.session() as s:
                    retry(s, ecg_id)
                    audit.record(s, actor, "ecg.retry", ecg_id=ecg_id)
                rows.append({"id": ecg_id, "status": "queued"})
            except (NotRetryable, LookupError) as exc:
                rows.append({"id": ecg_id, "status": "refused", "error": str(exc)})
        queued = [r["id"] for r in rows if r["status"] == "queued"]
        if args.process and queued:
            Worker(svc, "retry").drain()
            with svc.session() as s:
                final = {e.id: e for e in s.scalars(select(Ecg).where(Ecg.id.in_(queued)))}
            for r in rows:
                ecg = final.get(r["id"])
                if ecg is not None:
                    r["status"] = ecg.status
                    if ecg.status == "failed":
                        r["error"], r["failure_kind"] = ecg.error, ecg.failure_kind
    if args.json:
        print_json(rows)
    for r in rows:
        if "error" in r:
            print(f"ecglens: ECG {r['id']}: {r['error']}", file=sys.stderr)
    refused = sum(r["status"] == "refused" for r in rows)
    what = ("interpreted" if args.process else "queued for the server")
    if not rows:
        print("nothing to retry: no failed ECG is retryable", file=sys.stderr)
    else:
        done = [r for r in rows if r["status"] != "refused"]
        print(f"{len(done)} retried ({what})"
              + (f", {sum(r['status'] == 'done' for r in done)} done" if args.process else "")
              + (f", {refused} refused" if refused else ""), file=sys.stderr)
    return 1 if refused else 0
