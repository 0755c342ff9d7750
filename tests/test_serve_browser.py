"""End to end through a real browser: the real ``ecglens serve`` process, Debian Chromium driven
by Playwright, a real ECG file uploaded through the form, processed by the worker, read,
explained (median-beat evidence included), overread and downloaded; an admin managing users and
API keys and reading the audit log. One server and one browser serve the whole module.

Screenshots land in the test's tmp folder, or in ``$ECGLENS_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.helpers.serve_process import Server, cli

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
PROCESSING_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = Server(tmp_path_factory.mktemp("serve") / "data")
    for user, role in (("dr.lee", "clinician"), ("tech.kim", "technician"),
                       ("it.admin", "admin")):
        cli("users", "add", user, "--role", role, "--password-stdin", *srv.store_args(),
            stdin=PASSWORD + "\n")
    srv.start()
    try:
        yield srv.url
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


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


def test_upload_read_explain_overread_download(server: str, browser: Browser, formats_dir: Path,
                                               shots: Path) -> None:
    ecg_file = formats_dir / "hl7-aecg" / "subject1_0.xml"  # 12 leads, 500 Hz, 10 s
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # the start page asks /auth/me before login and gets 401: that one is expected
        if msg.type == "error" and "status of 401" not in msg.text:
            problems.append(msg.text)

    contexts = []
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda e: problems.append(str(e) + str(e.stack)))

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
        # the first statement as printed: the rhythm, with its probability or "measured"
        expect(row.locator(".top-findings li").first).to_contain_text(re.compile(r"%|measured"))
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

        # median-beat evidence: one beat per lead, a bar for every bin the service sent
        expect(page.locator(".finding.explaining .mb-pointer")).to_be_visible()
        panel = page.locator(".ecg-main .median-beat")
        expect(panel).to_be_visible()
        ecg_id = page.url.rsplit("/", 1)[-1]
        result = page.request.get(f"{server}/api/v1/ecgs/{ecg_id}").json()["result"]
        code = toggle.get_attribute("data-code")
        explanation = next(f for f in result["findings"] if f["code"] == code)["explanation"]
        beat = explanation["median_beat"]
        assert beat is not None, "a 10 s sinus record has beats to average"
        expect(panel.locator("svg.mb-svg")).to_have_count(len(beat["leads"]))
        for i, lead in enumerate(beat["leads"]):
            cell = panel.locator(f".mb-cell[data-lead='{lead}']")
            want_for = sum(v >= 0.02 for v in beat["values"][i])
            want_against = sum(v <= -0.02 for v in beat["values"][i])
            expect(cell.locator("rect.mb-for")).to_have_count(want_for)
            expect(cell.locator("rect.mb-against")).to_have_count(want_against)
        expect(panel).to_contain_text("Strongest in")
        # the parts this beat has, and the time between beats (no "no P" part: it has a P wave)
        shown = [k for k in explanation["segments"]
                 if k in explanation["beat_parts"] or k == "between beats"]
        assert "P wave" in shown and len(shown) == len(explanation["segments"]) - 1
        expect(panel.locator(".mb-part")).to_have_count(len(shown))
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(shots / "05b-median-beat.png"))
        page.screenshot(path=str(shots / "05-ecg-explained.png"), full_page=True)
        toggle.click()  # hiding the evidence removes the overlay and the median beats
        expect(page.locator(".median-beat")).to_have_count(0)

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
        tech_context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(tech_context)
        tech = tech_context.new_page()
        tech.on("console", on_console)
        _login(tech, server, "tech.kim")
        expect(tech.get_by_role("button", name="Upload")).to_be_visible()
        trow = tech.locator("table.worklist tbody tr", has_text=ecg_file.name)
        expect(trow).to_have_attribute("data-status", "done")
        expect(trow.get_by_role("link")).to_have_count(0)
        expect(tech.get_by_role("columnheader", name="Top findings")).to_have_count(0)
        tech.screenshot(path=str(shots / "07-technician.png"))
    finally:
        for c in contexts:
            c.close()
    assert not problems, problems


def test_viewer_display_filter_and_upload_grouping(server: str, browser: Browser) -> None:
    """The viewer's own functions, run in the browser on signals whose properties are known."""
    page = browser.new_page()
    try:
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
        beat = page.evaluate("""async () => {
            const { medianBeatPanel } = await import("/static/medianbeat.js");
            // the service's grid: 50 bins/s from 450 ms before R; evidence for the finding
            // 100 ms after R in V2 (bin 27: 27.5/50 - 0.45 = +0.10 s), against it at R in V1
            const leads = ["I", "II", "III", "aVR", "aVL", "aVF",
                           "V1", "V2", "V3", "V4", "V5", "V6"];
            const values = leads.map(() => new Array(60).fill(0));
            values[7][27] = 1.0;
            values[7][28] = 0.01; // below what the panel draws
            values[6][22] = -0.5;
            const panel = medianBeatPanel({
                leads: [{ lead: "V2", share: 0.9 }, { lead: "V1", share: 0.1 }],
                median_beat: { leads, fs: 50, start_s: -0.45, values }, median_r_index: 22 });
            document.body.append(panel);
            const v2 = panel.querySelector("[data-lead=V2] rect");
            return {
                cells: panel.querySelectorAll(".mb-cell[data-lead]").length,
                forBars: panel.querySelectorAll("rect.mb-for").length,
                against: panel.querySelectorAll("[data-lead=V1] rect.mb-against").length,
                v2x: Number(v2.getAttribute("x")), v2h: Number(v2.getAttribute("height")),
                v2label: panel.querySelector("[data-lead=V2] svg").getAttribute("aria-label"),
                lede: panel.querySelector(".mb-lede").textContent,
                columns: [...panel.querySelectorAll(".mb-col")].map(
                    (c) => [...c.querySelectorAll("[data-lead]")].map((e) => e.dataset.lead)),
                none: medianBeatPanel({ median_beat: null }) === null,
            };
        }""")
    finally:
        page.close()
    assert out["baseline"] < 0.1, out  # offset and wander gone
    assert 0.9 < out["peak"] < 1.05, out  # the spike keeps its height
    assert sorted(out["groups"]) == [["E1.hea", "E1.mat"], ["E2.atr", "E2.dat", "E2.hea"],
                                     ["a.xml"]]
    assert beat["cells"] == 12 and beat["forBars"] == 1 and beat["against"] == 1, beat
    assert 27 <= beat["v2x"] < 28 and beat["v2h"] == 48, beat  # bin 27, full height
    assert "+100 ms from R" in beat["v2label"] and "90%" in beat["v2label"], beat
    assert beat["lede"].startswith("Strongest in V2, +100 ms from R"), beat
    # the paper's 3×4 columns, so each beat sits under its lead on the tracing
    assert beat["columns"] == [["I", "II", "III"], ["aVR", "aVL", "aVF"], ["V1", "V2", "V3"],
                               ["V4", "V5", "V6"]], beat
    assert beat["none"], beat


def test_admin_users_keys_audit(server: str, browser: Browser, formats_dir: Path,
                                shots: Path) -> None:
    """An admin creates a clinician and an API key, revokes the key, and finds it all in the
    audit log; the new clinician signs in and sees no administration."""
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # expected: the 401 before login, the 422 and 409 the test provokes on purpose
        if msg.type == "error" and not any(f"status of {s}" in msg.text for s in (401, 409, 422)):
            problems.append(msg.text)

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    clinician = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda e: problems.append(str(e) + str(e.stack)))
        _login(page, server, "it.admin")
        nav = page.get_by_role("navigation", name="Main")
        for name in ("Users", "API keys", "Audit log"):
            expect(nav.get_by_role("link", name=name)).to_be_visible()

        # users: create a clinician; a second time the API's reason is shown in words
        nav.get_by_role("link", name="Users").click()
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        form = page.get_by_role("form", name="Create a user")
        form.get_by_label("User name").fill("dr.new")
        form.get_by_label("Role").select_option("clinician")
        form.get_by_label("Password", exact=True).fill("short")
        form.get_by_label("Repeat password").fill("short")
        form.get_by_role("button", name="Create user").click()  # the API's 422, in its words
        expect(form.get_by_role("alert")).to_contain_text("at least 10 characters")
        expect(page.locator("tr[data-username='dr.new']")).to_have_count(0)
        form.get_by_label("Password", exact=True).fill(PASSWORD)
        form.get_by_label("Repeat password").fill(PASSWORD)
        form.get_by_role("button", name="Create user").click()
        expect(page.locator(".form-done")).to_contain_text("User dr.new (clinician) created")
        expect(page.locator("tr[data-username='dr.new']")).to_contain_text("clinician")
        form.get_by_label("User name").fill("dr.new")
        form.get_by_role("button", name="Create user").click()
        expect(form.get_by_role("alert")).to_contain_text("exists already")

        # API keys: created, shown once with a copy button, used, revoked, refused
        nav.get_by_role("link", name="API keys").click()
        form = page.get_by_role("form", name="Create an API key")
        form.get_by_label("For user").select_option("dr.new")
        form.get_by_label("Key name").fill("cart-7")
        form.get_by_role("button", name="Create key").click()
        box = page.locator(".new-key")
        expect(box).to_contain_text("it will not be shown again")
        key = box.locator("input.key-value").input_value()
        box.get_by_role("button", name="Copy").click()
        expect(box.get_by_role("status")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == key
        page.screenshot(path=str(shots / "08-admin-new-key.png"))
        row = page.locator("tr", has=page.get_by_text("cart-7", exact=True))
        key_id = row.get_attribute("data-key-id")
        prefix = row.locator("code").inner_text().removesuffix("…")
        assert len(prefix) >= 4 and key.startswith(prefix), (prefix, "the list shows only a prefix")
        bearer = {"Authorization": f"Bearer {key}"}
        api = f"{server}/api/v1"
        assert httpx.get(f"{api}/auth/me", headers=bearer).json()["username"] == "dr.new"
        # the key uploads one ECG (a duplicate when the first test ran): its id is in the log
        xml = (formats_dir / "hl7-aecg" / "subject1_0.xml").read_bytes()
        up = httpx.post(f"{api}/ecgs", params={"filename": "subject1_0.xml"}, content=xml,
                        headers=bearer, timeout=60)
        assert up.status_code in (200, 201), up.text
        ecg_id = up.json()["id"]
        # a cart polling the worklist: enough events for the audit log to need a second page
        for _ in range(50):
            assert httpx.get(f"{api}/ecgs", params={"limit": 1}, headers=bearer).status_code == 200
        row.get_by_role("button", name="Revoke key cart-7").click()
        row.get_by_role("button", name="Cancel").click()  # the first click only asks
        expect(row).to_contain_text("Active")
        row.get_by_role("button", name="Revoke key cart-7").click()
        row.get_by_role("button", name="Revoke now").click()
        expect(page.locator(f"tr[data-key-id='{key_id}']")).to_contain_text("Revoked")
        assert httpx.get(f"{api}/auth/me", headers=bearer).status_code == 401

        # audit log: newest first, filtered, paged, ECG ids link to the ECG
        nav.get_by_role("link", name="Audit log").click()
        expect(page.locator("tr[data-audit-id]")).to_have_count(50)  # a full page
        ids = [int(i) for i in page.locator("tr[data-audit-id]").evaluate_all(
            "rows => rows.map((r) => r.dataset.auditId)")]
        assert ids == sorted(ids, reverse=True) and len(ids) == 50, ids
        page.get_by_role("button", name="Older →").click()
        top = page.locator("tr[data-audit-id]").first
        expect(top).not_to_have_attribute("data-audit-id", str(ids[0]))
        assert int(top.get_attribute("data-audit-id") or 0) < ids[-1]
        page.get_by_role("button", name="Newest").click()
        expect(page.locator(f"tr[data-audit-id='{ids[0]}']")).to_be_visible()
        # reading the log is recorded: the two reads so far are above the first page's top
        expect(page.locator("tr[data-action='audit.read']")).to_have_count(2)
        search = page.get_by_role("search", name="Filter the audit log")
        search.get_by_label("Actor").fill("it.admin")
        search.get_by_role("button", name="Filter").click()
        expect(page.locator("tr[data-audit-id]").first).to_contain_text("audit.read")
        for action, detail in (("key.revoke", f"key {key_id}"), ("key.create", f"key {key_id} "
                                                                               f"({prefix}"),
                               ("user.create", "dr.new (clinician)")):
            hit = page.locator(f"tr[data-action='{action}']").first
            expect(hit).to_contain_text(detail)
            expect(hit).to_contain_text("it.admin")
        order = page.locator("tr[data-action^='key.'], tr[data-action='user.create']").evaluate_all(
            "rows => rows.map((r) => r.dataset.action).filter((a) => a !== 'key.list')")
        assert order.index("key.revoke") < order.index("key.create") < order.index("user.create")
        page.screenshot(path=str(shots / "09-audit.png"))
        search.get_by_label("Actor").fill("")
        search.get_by_label("ECG id").fill("12x")
        search.get_by_role("button", name="Filter").click()
        expect(search.get_by_role("alert")).to_contain_text("whole number")
        search.get_by_label("ECG id").fill(str(ecg_id))
        search.get_by_label("Action").fill("ecg.list")
        search.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No events match these filters.")).to_be_visible()
        search.get_by_label("Action").fill("")
        search.get_by_role("button", name="Filter").click()
        mine = page.locator("tr[data-audit-id]", has_text="dr.new")
        expect(mine.first).to_contain_text("ecg.upload")
        mine.first.get_by_role("link", name=f"ECG {ecg_id}").click()
        expect(page.get_by_role("heading", name=f"ECG {ecg_id}")).to_be_visible()

        # the new clinician signs in with the password the admin set: no administration
        other = clinician.new_page()
        other.on("console", on_console)
        _login(other, server, "dr.new")
        main_nav = other.get_by_role("navigation", name="Main")
        expect(main_nav.get_by_role("link", name="Worklist")).to_be_visible()
        expect(main_nav.get_by_role("link")).to_have_count(1)
        other.goto(server + "/#/admin/audit")
        expect(other.get_by_role("heading", name="Administration is for admins")).to_be_visible()
        assert httpx.get(f"{api}/audit", headers=bearer).status_code == 401
    finally:
        context.close()
        clinician.close()
    assert not problems, problems
