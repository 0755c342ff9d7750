"""Running the real ``ecglens serve`` in a subprocess, for the durability, browser and load runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_thread(app: Any) -> Iterator[str]:
    """The app in a real uvicorn server on a free port, in a thread of this process (its own
    event loop and thread pool, so requests really overlap); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


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
