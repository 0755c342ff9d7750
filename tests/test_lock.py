"""The lock CI installs with must pin every requirement of the package within its ranges.

Whether the lock is behind today's releases is a network question, answered on a schedule by
``python scripts/lock.py --check``, not here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_canonical(name)] = Version(version)
    return pins


def test_lock_pins_every_requirement_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("test", "dev"):
        reqs += project["optional-dependencies"][extra]
    pins = _lock()
    problems = []
    for text in reqs:
        req = Requirement(text)
        pin = pins.get(_canonical(req.name))
        if pin is None:
            problems.append(f"{req.name}: not in the lock")
        elif not req.specifier.contains(pin, prereleases=True):
            problems.append(f"{req.name}: locked {pin} outside {req.specifier}")
    assert not problems, "run `python scripts/lock.py --write`: " + "; ".join(problems)


def test_lock_is_what_this_environment_runs() -> None:
    # CI installs with the lock; a test run on other versions reports figures nobody locked
    from importlib.metadata import PackageNotFoundError, version

    drift = []
    for name, pin in _lock().items():
        try:
            have = Version(version(name))
        except PackageNotFoundError:
            continue  # e.g. an extra not installed here
        if have != pin:
            drift.append(f"{name} {have} (locked {pin})")
    assert not drift, "installed versions differ from requirements/lock.txt: " + ", ".join(drift)
