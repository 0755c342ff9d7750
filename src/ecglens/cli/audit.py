"""``ecglens audit verify``: check the service's audit log against its hash chain.

Every row's hash covers its fields and the previous row's hash, so a row changed, removed or
inserted by someone who got past the database's triggers breaks the chain from there on. The
check only reads (it does not migrate or touch the data folder), so it can run beside a live
server. Exit 0: ``N rows, chain intact`` (the last row's hash on stderr: note it elsewhere and
pass it to a later check with ``--contains``); exit 1: the first row that does not fit, and
why, or a noted hash the chain no longer has.
"""

from __future__ import annotations

import argparse
import sys

from ecglens.cli.serve import add_store_options, settings_from
from ecglens.exceptions import EcglensError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="check the service's audit log (hash chain)",
                       description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    v = actions.add_parser("verify", help="recompute the hash chain; exit 1 at the first break")
    v.add_argument("--contains", action="append", default=[], metavar="HASH",
                   help="a head hash noted earlier (printed by verify): exit 1 unless the "
                        "chain still has that row, which a log rewritten and re-hashed "
                        "from before it has not (repeatable)")
    add_store_options(v)
    v.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from ecglens.serve import audit, db

    settings = settings_from(args)
    url = settings.database_url
    if not settings.db_url and not (settings.data_dir / "ecglens.db").is_file():
        raise EcglensError(f"no database in {settings.data_dir} (is --data-dir right?)")
    engine = db.make_engine(url)
    try:
        try:
            columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_events")}
        except sa.exc.NoSuchTableError:
            raise EcglensError("the database has no audit log (ecglens db upgrade creates "
                               "the schema)") from None
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            first = (str(cause).strip().splitlines() or [""])[0]
            raise EcglensError(f"cannot read the database ({type(cause).__name__}: "
                               f"{first})") from None
        if "row_hash" not in columns:
            raise EcglensError("the audit log has no hash chain yet: run ecglens db upgrade "
                               "(it chains the rows already there)")
        with db.session_factory(engine)() as s:
            check = audit.verify(s, anchors=args.contains)
    finally:
        engine.dispose()
    if check.broken_id is not None:
        print(f"audit chain broken at row {check.broken_id}: {check.problem} "
              f"({check.rows} rows before it intact)")
        return 1
    if check.missing:
        print(f"audit chain rewritten: no row has the noted hash "
              f"{', '.join(check.missing)} ({check.rows} rows, consistent among themselves)")
        return 1
    print(f"{check.rows} rows, chain intact")
    print(f"head {check.head}", file=sys.stderr)
    return 0
