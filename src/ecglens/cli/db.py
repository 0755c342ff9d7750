"""``ecglens db upgrade``: create or migrate the service's database schema by hand (the server
does it at start too)."""

from __future__ import annotations

import argparse
import sys

from ecglens.cli.serve import add_store_options, open_service


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="create or migrate the service database")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="bring the schema to the newest version")
    add_store_options(up)
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    with open_service(args):
        pass  # opening the store migrates it
    print("database schema is up to date", file=sys.stderr)
    return 0
