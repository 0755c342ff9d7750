"""Running the real ``ecglens serve`` in a subprocess, for the durability, browser and load runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, stdin: str | None = None) -> str:
    """Run ``ecglens ARGS``; returns stdout, raises with stderr on failure."""
    r = subprocess.run([sys.executable, "-m", "ecglens", *args], input=stdin, text=True,
                       capture_output=True, timeout=120, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"ecglens {' '.join(args[:2])} failed: {r.stderr.strip()}")
    return r.stdout


class Server:
    """``ecglens serve`` on a free port; ``kill()`` is SIGKILL, ``stop()`` a clean SIGTERM."""

    def __init__(self, data_dir: Path, db_url: str | None = None, *extra: str) -> None:
        self.data_dir, self.db_url, self.extra = data_dir, db_url, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    def store_args(self) -> list[str]:
        return ["--data-dir", str(self.data_dir)] + (["--db", self.db_url] if self.db_url else [])

    def start(self, timeout: float = 90.0) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ecglens", "serve", *self.store_args(),
                 "--port", str(self.port), *self.extra],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not answer in time")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
