"""End to end through a real browser: the real ``ecglens serve`` process, Debian Chromium driven
by Playwright, a real ECG file uploaded through the form, processed by the worker, read,
explained, overread and downloaded.

Screenshots land in the test's tmp folder, or in ``$ECGLENS_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
PROCESSING_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ecglens(*args: str, data_dir: Path, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "ecglens", *args, "--data-dir", str(data_dir)],
                   input=stdin, text=True, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("serve-data")
    _ecglens("users", "add", "dr.lee", "--role", "clinician", "--password-stdin",
             data_dir=data, stdin=PASSWORD + "\n")
    _ecglens("users", "add", "tech.kim", "--role", "technician", "--password-stdin",
             data_dir=data, stdin=PASSWORD + "\n")
    port = _free_port()
    log = (data / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ecglens", "serve", "--data-dir", str(data),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("ecglens serve did not start:\n"
                            + (data / "serve.log").read_text()[-3000:])
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    d = Path(os.environ.get("ECGLENS_SCREENSHOTS") or tmp_path / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _ink(page: Page, selector: str) -> dict[str, int]:
    """Count dark (trace) and blue (explanation overlay) pixels on a canvas."""
    return page.eval_on_selector(selector, """(c) => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let dark = 0, blue = 0;
        for (let i = 0; i < d.length; i += 4) {
            const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
            if (r < 90 && g < 90 && b < 90) dark++;
            else if (b > 150 && r < 200 && b - r > 40) blue++;
        }
        return {dark, blue};
    }""")


def _login(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()


def test_upload_read_explain_overread_download(server: str, formats_dir: Path,
                                               shots: Path) -> None:
    ecg_file = formats_dir / "hl7-aecg" / "subject1_0.xml"  # 12 leads, 500 Hz, 10 s
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # the start page asks /auth/me before login and gets 401: that one is expected
        if msg.type == "error" and "status of 401" not in msg.text:
            problems.append(msg.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                          accept_downloads=True)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # wrong password first: the form says so and stays
            page.goto(server + "/")
            page.get_by_label("Username").fill("dr.lee")
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
            page.screenshot(path=str(shots / "01-login.png"))
            _login(page, server, "dr.lee")

            # one selection, two ECGs: an XML file, and a WFDB header with its signal file
            wfdb = [formats_dir / "physionet-challenge" / f"E07500.{ext}" for ext in ("hea", "mat")]
            page.set_input_files("input[type=file]", [str(ecg_file), *map(str, wfdb)])
            page.get_by_role("button", name="Upload").click()
            expect(page.locator(".upload-status")).to_contain_text("E07500.hea + E07500.mat")
            row = page.locator("table.worklist tbody tr", has_text=ecg_file.name)
            expect(row).to_have_count(1)
            wfdb_row = page.locator("table.worklist tbody tr", has_text="E07500.hea")
            expect(wfdb_row).to_have_count(1)
            page.screenshot(path=str(shots / "02-worklist-queued.png"))
            # the worklist refreshes itself until the worker is done
            expect(row).to_have_attribute("data-status", "done", timeout=PROCESSING_TIMEOUT_MS)
            expect(wfdb_row).to_have_attribute("data-status", "done",
                                               timeout=PROCESSING_TIMEOUT_MS)
            expect(row.locator(".badge.unread")).to_be_visible()
            expect(row.locator(".top-findings li").first).to_contain_text("%")
            page.screenshot(path=str(shots / "03-worklist-done.png"))

            row.get_by_role("link", name=ecg_file.name).click()
            expect(page.get_by_role("heading", name="Measurements")).to_be_visible()
            canvas = "canvas.ecg-canvas"
            page.wait_for_function(
                "() => { const c = document.querySelector('canvas.ecg-canvas');"
                " return c && c.width > 300; }")
            before = _ink(page, canvas)
            assert before["dark"] > 5000, f"no ECG trace drawn: {before}"
            expect(page.locator("table.measurements")).to_contain_text("QTc Fridericia")
            expect(page.locator("table.measurements")).to_contain_text("bpm")
            page.screenshot(path=str(shots / "04-ecg.png"), full_page=True)

            # the explanation overlay of the first finding shades the tracing
            toggle = page.locator(".explain-toggle").first
            toggle.click()
            expect(toggle).to_have_attribute("aria-pressed", "true")
            expect(page.locator(".finding.explaining .explanation")).to_be_visible()
            after = _ink(page, canvas)
            assert after["blue"] > before["blue"] + 500, (before, after)
            page.screenshot(path=str(shots / "05-ecg-explained.png"), full_page=True)

            # the display controls redraw (50 mm/s doubles the width)
            width = page.eval_on_selector(canvas, "c => c.width")
            page.get_by_label("Speed").select_option("50")
            page.wait_for_function(f"() => document.querySelector('{canvas}').width > {width}")
            page.get_by_label("Layout").select_option("12x1")
            page.get_by_label("Speed").select_option("25")

            # calipers: a drag of 100 CSS px reads back as 100 px / (px per mm) / 25 mm/s
            box = page.locator(".ecg-caliper").bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + 200, box["y"] + 60)
            page.mouse.down()
            page.mouse.move(box["x"] + 300, box["y"] + 60, steps=4)
            page.mouse.up()
            mm = float(page.get_attribute(canvas, "data-px-per-mm") or "nan")
            shown = page.locator(".caliper-text").inner_text()
            assert f"{round(100 / mm / 25 * 1000)} ms" in shown, (shown, mm)

            # overread: accept the first finding, add a statement, comment, sign
            first = page.locator("fieldset.decision").first
            first.get_by_text("Accept", exact=True).click()
            page.get_by_role("button", name="+ Add statement").click()
            page.get_by_label("Statement", exact=True).fill("Compare with previous tracing")
            page.get_by_label("Comment", exact=True).fill("Reviewed in the browser test.")
            expect(page.get_by_label("Sign (marks the ECG read)")).to_be_checked()
            page.get_by_role("button", name="Sign overread").click()
            history = page.locator("ol.history li.overread").first
            expect(history).to_contain_text("dr.lee")
            expect(history).to_contain_text("Reviewed in the browser test.")
            expect(history).to_contain_text("accepted")
            expect(history.locator(".badge.signed")).to_be_visible()
            page.screenshot(path=str(shots / "06-overread-signed.png"), full_page=True)

            with page.expect_download() as download:
                page.locator("a[data-kind=pdf]").click()
            pdf = Path(download.value.path())
            assert pdf.read_bytes()[:5] == b"%PDF-"

            page.get_by_role("link", name="← Worklist").click()
            row = page.locator("table.worklist tbody tr", has_text=ecg_file.name)
            expect(row.locator(".badge.signed")).to_be_visible()
            page.get_by_label("Unread").check()  # a signed ECG is read: the filter hides it
            expect(row).to_have_count(0)
            page.get_by_label("Unread").uncheck()
            expect(row).to_have_count(1)

            # a technician sees the worklist and the upload, not the results
            tech = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            tech.on("console", on_console)
            _login(tech, server, "tech.kim")
            expect(tech.get_by_role("button", name="Upload")).to_be_visible()
            trow = tech.locator("table.worklist tbody tr", has_text=ecg_file.name)
            expect(trow).to_have_attribute("data-status", "done")
            expect(trow.get_by_role("link")).to_have_count(0)
            expect(tech.get_by_role("columnheader", name="Top findings")).to_have_count(0)
            tech.screenshot(path=str(shots / "07-technician.png"))
        finally:
            browser.close()
    assert not problems, problems


def test_viewer_display_filter_and_upload_grouping(server: str) -> None:
    """The viewer's own functions, run in the browser on signals whose properties are known."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server + "/")
            out = page.evaluate("""async () => {
                const { highPass } = await import("/static/ecgcanvas.js");
                const { groupRecords } = await import("/static/worklist.js");
                // 10 s at 500 Hz: 1.5 mV offset, 0.5 mV respiratory wander at 0.15 Hz,
                // and a 1 mV, 20 ms spike every second (a QRS stand-in)
                const fs = 500, n = 5000, x = new Float32Array(n);
                for (let i = 0; i < n; i++) {
                    const t = i / fs;
                    x[i] = 1.5 + 0.5 * Math.sin(2 * Math.PI * 0.15 * t);
                    const d = (t % 1) - 0.5;
                    x[i] += Math.exp(-(d * d) / (2 * 0.004 * 0.004));
                }
                const y = highPass(x, fs, 0.5);
                let baseline = 0, peak = Infinity;
                for (let s = 0; s < 10; s++) {
                    const i0 = s * fs;
                    // the baseline 200 ms before each spike, the spike's height above it
                    const b = y[i0 + 150];
                    baseline = Math.max(baseline, Math.abs(b));
                    peak = Math.min(peak, y[i0 + 250] - b);
                }
                const file = (name) => new File(["x"], name);
                const groups = groupRecords([file("a.xml"), file("E1.mat"), file("E1.hea"),
                                             file("E2.hea"), file("E2.dat"), file("E2.atr")]);
                return { baseline, peak, groups: groups.map((g) => g.map((f) => f.name).sort()) };
            }""")
        finally:
            browser.close()
    assert out["baseline"] < 0.1, out  # offset and wander gone
    assert 0.9 < out["peak"] < 1.05, out  # the spike keeps its height
    assert sorted(out["groups"]) == [["E1.hea", "E1.mat"], ["E2.atr", "E2.dat", "E2.hea"],
                                     ["a.xml"]]
