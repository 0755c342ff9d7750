"""Running the ``ecglens`` command line from tests, in a fresh process or in this one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecglens.cli import main


def run_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "ecglens.cli", *args], input=input,
                          check=False, capture_output=True, text=True, timeout=300)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (starting one costs seconds): exit code, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)
