"""How fast the web viewer shows a 10 s 12-lead 500 Hz ECG, in headless Chromium.

Starts a real ``ecglens serve`` with one interpreted record (the bundled challenge record
E07500: 12 leads, 500 Hz, 10 s), logs in as a clinician and reads the viewer's own user-timing
entries (``ecglens:draw``, one per canvas drawing):

- open: from the click on the worklist link to the end of the first drawing (result and
  signal fetched, filtered and drawn);
- redraw: median and p95 over layout, speed and gain changes.

Baseline, same run: the server drawing the same ECG as a PNG report (matplotlib, first render),
which is what a viewer without client-side drawing would have to wait for.

    python -m benchmarks.bench_viewer [--redraws 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.helpers.serve_process import Server, cli

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "benchmark password 1"
RECORD = ROOT / "src" / "ecglens" / "examples" / "E07500.hea"


def _draws(page) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    return page.evaluate("""() => performance.getEntriesByName('ecglens:draw')
        .map(e => ({start: e.startTime, duration: e.duration}))""")


def _wait_for_draws(page, n: int, timeout_s: float = 30.0) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        d = _draws(page)
        if len(d) >= n:
            return d
        page.wait_for_timeout(10)
    raise RuntimeError("the viewer did not draw in time")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redraws", type=int, default=30)
    ap.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium not found at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data")
        store = server.store_args()
        cli("users", "add", "dr", "--role", "clinician", "--password-stdin", *store,
            stdin=PASSWORD + "\n")
        cli("users", "add", "doc", "--role", "clinician", "--no-password", *store)
        key = cli("keys", "create", "doc", "--name", "bench", *store).strip()
        cli("import", str(RECORD), "--process", *store)
        server.start()
        try:
            h = {"Authorization": f"Bearer {key}"}
            # the first read imports the readers in the server process: not what a user waits for
            httpx.get(f"{server.url}/api/v1/ecgs/1/signal", headers=h, timeout=60)
            t0 = time.perf_counter()
            sig = httpx.get(f"{server.url}/api/v1/ecgs/1/signal", headers=h, timeout=60)
            fetch_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            png = httpx.get(f"{server.url}/api/v1/ecgs/1/report.png", headers=h, timeout=120)
            png_ms = (time.perf_counter() - t0) * 1000
            assert sig.status_code == 200 and png.status_code == 200

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000},
                                        device_scale_factor=args.scale)
                page.goto(server.url + "/")
                page.get_by_label("Username").fill("dr")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                link = page.get_by_role("link", name=RECORD.name)
                link.wait_for()
                t_click = page.evaluate("() => performance.now()")
                link.click()
                first = _wait_for_draws(page, 1)[0]
                open_ms = first["start"] + first["duration"] - t_click
                changes = [("Layout", v) for v in ("6x2", "12x1", "3x4")] + \
                    [("Speed", v) for v in ("50", "25")] + [("Gain", v) for v in ("20", "5", "10")]
                for i in range(args.redraws):
                    label, value = changes[i % len(changes)]
                    n = len(_draws(page))
                    page.get_by_label(label, exact=True).select_option(value)
                    _wait_for_draws(page, n + 1)
                redraws = sorted(d["duration"] for d in _draws(page)[1:])
                browser.close()
        finally:
            server.stop()

    p95 = redraws[int(0.95 * (len(redraws) - 1))]
    med = statistics.median(redraws)
    print(f"record: {RECORD.name}, 12 leads, 500 Hz, 10 s; signal JSON "
          f"{len(sig.content) / 1024:.0f} KB "
          f"fetched in {fetch_ms:.0f} ms; device pixel ratio {args.scale:g}")
    print(f"viewer open (click to first drawing): {open_ms:.0f} ms, of which drawing "
          f"{first['duration']:.1f} ms")
    print(f"viewer redraw, {len(redraws)} drawings over {args.redraws} changes: median {med:.1f} "
          f"ms, p95 {p95:.1f} ms")
    print(f"baseline, server PNG report of the same ECG: {png_ms:.0f} ms "
          f"-> viewer open is {png_ms / open_ms:.1f}x faster, a redraw {png_ms / med:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
