"""The ``ecglens`` command line. Each subcommand lives in its own module with ``add_parser``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ecglens import __version__
from ecglens.exceptions import EcglensError
from ecglens.runtime import tune_allocator

#: subcommand modules under ecglens.cli, in the order ``--help`` lists them
COMMANDS = [
    "info", "measure", "interpret", "convert", "deidentify", "train", "predict", "evaluate",
    "serve", "users", "keys", "import", "retry", "db",
    "audit",
]
#: commands whose module name differs (``import`` is a Python keyword)
_MODULES = {"import": "import_"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` just that subcommand's module is imported.

    Importing every subcommand pulls in torch, scipy and matplotlib (seconds); a call runs
    one command, so it should pay only for that one.
    """
    parser = argparse.ArgumentParser(
        prog="ecglens",
        description="Explainable interpretation of the 12-lead ECG.",
    )
    parser.add_argument("--version", action="version", version=f"ecglens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        importlib.import_module(f"ecglens.cli.{_MODULES.get(name, name)}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    tune_allocator()
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EcglensError as exc:
        print(f"ecglens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecglens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("ECGLENS_DEBUG"):
            raise
        print(f"ecglens: internal error: {type(exc).__name__}: {exc} "
              "(set ECGLENS_DEBUG=1 for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
