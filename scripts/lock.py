"""Write or check the lock of resolved versions that CI and the README's commands install with.

The package's own requirements (pyproject.toml) stay ranges for users; the lock pins every
distribution, transitive ones included, so a new release of numpy or scipy cannot silently
change a clinical result between two CI runs. The lock is resolved for CPython 3.11 on Linux
x86_64, the CI machine.

    python scripts/lock.py --check   # exit 1 and list what today's resolution would change
    python scripts/lock.py --write   # re-resolve and rewrite requirements/lock.txt

Run ``--check`` on a schedule (weekly); after ``--write``, run the whole test suite and the
measurement and model benchmarks before committing the new lock: a changed figure is a change
in the product, to be explained in the changelog.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
EXTRAS = "test,dev"
HEADER = (
    "# Resolved versions that .ci/run and the README's commands install with (pip -c).\n"
    "# Written by `python scripts/lock.py --write`; checked by `python scripts/lock.py --check`.\n"
    "# CPython 3.11, Linux x86_64. Do not edit by hand.\n"
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """{canonical name: version} of a lock file."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_canonical(name)] = version.strip()
    return pins


def resolve_today() -> dict[str, str]:
    """What pip resolves for ``.[test,dev]`` now, ignoring what is installed and the lock."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--report", str(report), f"{ROOT}[{EXTRAS}]"],
            check=True, stdout=subprocess.DEVNULL,
        )
        items = json.loads(report.read_text())["install"]
    return {
        _canonical(it["metadata"]["name"]): it["metadata"]["version"]
        for it in items
        if _canonical(it["metadata"]["name"]) != "ecglens"
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report what is behind; exit 1 if any")
    mode.add_argument("--write", action="store_true", help="rewrite the lock from today's "
                                                           "resolution")
    args = ap.parse_args()
    today = resolve_today()
    if args.write:
        LOCK.parent.mkdir(exist_ok=True)
        LOCK.write_text(HEADER + "".join(f"{n}=={v}\n" for n, v in sorted(today.items())))
        print(f"wrote {len(today)} pins to {LOCK.relative_to(ROOT)}")
        return 0
    locked = read_lock()
    changes = [
        f"{n}: locked {locked.get(n, '-')}, today {today.get(n, '-')}"
        for n in sorted(set(locked) | set(today))
        if locked.get(n) != today.get(n)
    ]
    for line in changes:
        print(line)
    print(f"lock is {'behind: ' + str(len(changes)) + ' changes' if changes else 'current'}")
    return 1 if changes else 0


if __name__ == "__main__":
    raise SystemExit(main())
