"""Opening the store (every ``ecglens`` service command does) never removes an upload that a
server beside it may still be receiving; it removes only what a dead process left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ecglens.serve.storage import SPOOL_STALE_S, Store


def test_opening_the_store_keeps_uploads_in_progress_and_sweeps_dead_ones(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.prepare()
    live, forgotten = store.new_spool(), store.new_spool()
    (live / "ecg.xml").write_bytes(b"<partial")
    (forgotten / "ecg.xml").write_bytes(b"<an hour old")
    old = time.time() - SPOOL_STALE_S - 60
    for p in (forgotten / "ecg.xml", forgotten):
        os.utime(p, (old, old))
    # a process that spooled an upload and died (the pid in the folder's name is gone)
    dead = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path; from ecglens.serve.storage import Store;"
         f"s = Store(Path({str(tmp_path)!r}).resolve()); p = s.new_spool();"
         "(p / 'ecg.xml').write_bytes(b'<killed'); print(p)"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert Path(dead).exists()
    Store(tmp_path).prepare()  # e.g. `ecglens users add` while this process receives `live`
    assert (live / "ecg.xml").read_bytes() == b"<partial"
    assert not forgotten.exists() and not Path(dead).exists()
