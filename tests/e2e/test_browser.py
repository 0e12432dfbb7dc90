"""The report as a person sees it: Debian's chromium, headless, driven through chromedriver's W3C
WebDriver HTTP API (a few urllib calls; no client library, no browser download). Checks: no console
errors, no network request of any kind, every figure drawn with a non-zero size, the tables present;
saves a full-page screenshot."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bench.render.html import write_report
from bench.rows.sources import combine
from bench.rows.store import read_rows
from tests.render.test_html import ROWS, SWITCH, run_row

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]


class Browser:
    """Just enough WebDriver: a session, navigate, run a script, read the console, take a screenshot."""

    def __init__(self, profile_dir):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        caps = {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": FLAGS + [f"--user-data-dir={profile_dir}"]},
        }
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["value"]

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def open(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": []})

    def console(self):
        return self.cmd("POST", "/se/log", {"type": "browser"})

    def full_page_png(self) -> bytes:
        height = self.js("return document.documentElement.scrollHeight")
        self.cmd("POST", "/window/rect", {"width": 1280, "height": min(int(height) + 40, 16000)})
        return base64.b64decode(self.cmd("GET", "/screenshot"))

    def close(self):
        try:
            self.cmd("DELETE", "")
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def test_report_in_headless_chromium(browser, tmp_path):
    history = [[run_row(sha="0ld0ld0ld0ld")], ROWS]
    page = write_report(ROWS + SWITCH, tmp_path / "report" / "index.html", history=history)
    browser.open(page.as_uri())
    assert browser.js("return document.readyState") == "complete"

    errors = [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert browser.js("return performance.getEntriesByType('resource').length") == 0  # no request of any kind

    sizes = browser.js(
        "return Array.from(document.querySelectorAll('figure > svg'))"
        ".map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert len(sizes) == 3 + 3 + 1  # Pareto x3, switching x3 (swap latency, throughput and time vs N), history
    assert all(w > 100 and h > 100 for w, h in sizes), sizes

    tables = browser.js("return Array.from(document.querySelectorAll('table')).map(t => [t.className, t.rows.length])")
    kinds = [k for k, _ in tables]
    assert kinds.count("results") == 2 and {"switching", "failures", "provenance", "history"} <= set(kinds)
    assert all(n > 1 for _, n in tables)
    measured = browser.js("return document.querySelectorAll('[data-verdict]').length")
    unmeasured = browser.js(
        "return Array.from(document.querySelectorAll('[data-claims]')).map(s => s.dataset.claims.split(' ').length)"
    )
    assert measured + sum(unmeasured) == 7 and len(unmeasured) <= 4  # every claim: a card, or named in one line
    assert browser.js("return document.querySelector('a[download]').href.startsWith('data:text/csv')")

    assert_fits_1280(browser)

    png = browser.full_page_png()
    shot = tmp_path / "report.png"
    shot.write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    print(f"screenshot: {shot}")


def assert_fits_1280(browser, need_tables: bool = True):
    """At a 1280 px window the main tables need no horizontal scroll, nor do the choice tables or the page."""
    browser.cmd("POST", "/window/rect", {"width": 1280, "height": 1000})
    widths = browser.js(
        "return Array.from(document.querySelectorAll('table.results, table.switching, table.speed'))"
        ".map(t => [t.parentElement.scrollWidth, t.parentElement.clientWidth])"
    )
    assert (widths or not need_tables) and all(scroll <= client for scroll, client in widths), widths
    decide = browser.js(
        "return Array.from(document.querySelectorAll('table.decide'))"
        ".map(t => [t.getBoundingClientRect().right, document.documentElement.clientWidth])"
    )
    assert all(right <= width for right, width in decide), decide
    assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth")


COMMITTED = sorted((Path(__file__).resolve().parents[2] / "results").glob("llm*/*.jsonl"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_results_fit_1280_px_with_no_console_error(browser, tmp_path, path):
    """The committed llm and llm_rt results: long method notes (the selected setting of a sweep), up to 5
    methods and 2 tasks, the choice tables first."""
    page = write_report(read_rows(path), tmp_path / "report.html")
    browser.console()  # drain
    browser.open(page.as_uri())
    assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
    assert_fits_1280(browser)
    assert browser.js("return document.querySelector('main, body > section').id") == "decide"
    assert browser.js("return document.querySelectorAll('table.decide tr[title]').length") > 0
    if browser.js("return document.querySelector('table.lr-sweep') !== null"):
        seeds = browser.js(
            "const t = document.querySelector('table.lr-sweep');"
            "const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent.trim() === 'val seeds');"
            "return Array.from(t.tBodies[0].rows).map(r => r.cells[i].textContent)"
        )
        assert seeds and all(s.startswith("seed") for s in seeds), seeds  # a seed list, never a bare "0"


def test_committed_results_as_one_history_fit_1280_px(browser, tmp_path):
    """`bench report` over every committed llm file: the last reported, all of them as history (one set
    spans several commits: its git sha cell lists them all)."""
    history = [read_rows(p) for p in COMMITTED]
    page = write_report(history[-1], tmp_path / "history.html", history=history)
    browser.console()  # drain
    browser.open(page.as_uri())
    assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
    assert browser.js("return document.querySelectorAll('table.history tbody tr').length") == len(COMMITTED)
    assert_fits_1280(browser)


OTHERS = sorted((Path(__file__).resolve().parents[2] / "results").glob("[!l]*/*.jsonl"))  # serving, shapes


@pytest.mark.parametrize(
    "paths", [[p] for p in OTHERS] + [OTHERS + COMMITTED], ids=lambda ps: ps[0].name if len(ps) == 1 else "all"
)
def test_every_kind_of_file_alone_and_combined_fits_1280_px(browser, tmp_path, paths):
    """Serve and shape files alone, and every committed file in one report: no console error, no page scroll,
    and every navigation link leads to a section of the page."""
    rows = combine([(str(p), read_rows(p)) for p in paths])
    page = write_report(rows, tmp_path / "report.html")
    browser.console()  # drain
    browser.open(page.as_uri())
    assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
    browser.cmd("POST", "/window/rect", {"width": 1280, "height": 1000})
    assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth")
    links = browser.js("return Array.from(document.querySelectorAll('nav a')).map(a => a.hash.slice(1))")
    sections = browser.js("return Array.from(document.querySelectorAll('body > section')).map(s => s.id)")
    assert links == sections and "headline" in sections
    if len(paths) == 1:  # one file: its main, switching and speed tables fit 1280 px whole (none cut off)
        assert_fits_1280(browser, need_tables=False)


def test_console_check_is_live(browser, tmp_path):
    """The negative control: a page that tries to load from the network under the report's policy logs an error."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        '<img src="http://127.0.0.1:9/x.png"><p>bad</p>'
    )
    browser.console()  # drain
    browser.open(page.as_uri())
    assert any(e["level"] == "SEVERE" for e in browser.console())


SERVE = Path(__file__).resolve().parents[2] / "results" / "serving" / "serve-cpu.jsonl"
EXPLORER_JS = """
const $ = s => document.querySelector(s);
window.ex = {
  points: () => Array.from(document.querySelectorAll('#ex-plot circle')).map(c => ({
      label: c.dataset.label, ids: c.dataset.ids, x: +c.getAttribute('cx'), y: +c.getAttribute('cy'),
      front: c.classList.contains('ex-on-front'), fill: c.getAttribute('fill')})),
  pick: (id, value) => { const s = $(id); s.value = value; s.dispatchEvent(new Event('change')); },
  tick: (facet, value) => { const b = document.querySelector(
      `#explorer fieldset[data-facet="${facet}"] input[data-value="${value}"]`); b.click(); },
  summary: () => $('.ex-summary').textContent,
  every: (facet, action) => document.querySelector(
      `#explorer fieldset[data-facet="${facet}"] button[data-action="${action}"]`).click(),
};
"""


def test_explorer_from_file_redraws_on_an_axis_a_filter_and_a_data_set(browser, tmp_path):
    """The explorer as a person drives it from file://: its one script runs under the page's policy, a point per
    record with two values, an axis change moves the points, a filter removes a method's, the frontier is the
    figures' Pareto front, hovering names the run ids, the serve rows draw in the strategies' colours, and
    the view is left out of print. No console error throughout."""
    from bench.render.figures import pareto_front
    from bench.render.palette import colour as strategy_colour

    page = write_report(ROWS + SWITCH + read_rows(SERVE), tmp_path / "explore.html")
    browser.console()  # drain
    browser.open(page.as_uri())
    assert browser.js("return document.getElementById('explorer-app').dataset.ready") == "1"
    browser.js(EXPLORER_JS)
    ok = [r for r in ROWS if r["status"] == "ok"]

    first = browser.js("return ex.points()")
    assert sorted(p["ids"] for p in first) == sorted(r["run_id"] for r in ok)  # every ok (task, method), once
    front = {p["ids"] for p in first if p["front"]}
    expected = set()
    for task in {r["task"] for r in ok}:
        rs = [r for r in ok if r["task"] == task]
        expected |= {rs[i]["run_id"] for i in pareto_front([(r["trainable_params"], r["accuracy"]) for r in rs])}
    assert front == expected and 0 < len(front) < len(first)

    browser.js("ex.pick('#ex-x', 'infer_tokens_per_s')")  # higher is better on x now: another front
    moved = browser.js("return ex.points()")
    assert len(moved) == len(first) and [p["x"] for p in moved] != [p["x"] for p in first]
    expected = set()
    for task in {r["task"] for r in ok}:
        rs = [r for r in ok if r["task"] == task]
        points = [(r["infer_tokens_per_s"], r["accuracy"]) for r in rs]
        expected |= {rs[i]["run_id"] for i in pareto_front(points, x_lower_better=False)}
    assert {p["ids"] for p in moved if p["front"]} == expected

    browser.js("ex.tick('method', 'lora')")
    kept = browser.js("return ex.points()")
    assert len(kept) == len(first) - sum(r["method"] == "lora" for r in ok) and "lora" not in {p["label"] for p in kept}
    assert "filtered out" in browser.js("return ex.summary()")

    browser.js("const c = document.querySelector('#ex-plot circle'); c.dispatchEvent(new MouseEvent('mouseenter'))")
    tip = browser.js("const t = document.querySelector('.ex-tip'); return t.hidden ? null : t.innerText")
    assert tip and kept[0]["ids"] in tip and "lr=0.003" in tip

    browser.js("ex.every('method', 'none')")
    drawn = browser.js("return document.getElementById('ex-plot').textContent")
    assert browser.js("return ex.points()") == [] and "nothing to draw" in drawn
    browser.js("ex.every('method', 'all')")
    assert len(browser.js("return ex.points()")) == len(first)

    browser.js("ex.pick('#ex-set', '1')")  # the serve rows
    served = browser.js("return ex.points()")
    assert served and all(p["fill"] == strategy_colour(p["label"]) for p in served)
    browser.js("ex.pick('#ex-x', 'n_tasks')")  # a setting on an axis: no frontier
    assert not any(p["front"] for p in browser.js("return ex.points()"))
    assert "no frontier" in browser.js("return ex.summary()")
    assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []

    browser.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}})
    try:
        hidden = browser.js("return getComputedStyle(document.getElementById('explorer')).display")
        figures = browser.js("return getComputedStyle(document.getElementById('pareto')).display")
    finally:
        browser.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": ""}})
    assert (hidden, figures) == ("none", "block")


def test_explorer_draws_the_deployment_pairs_and_redraws_on_an_axis_and_a_filter(browser, tmp_path):
    """The deployment data set from file://: a point per measured pair and N, the missing ones counted, an
    axis change to memory moves the points, a strategy filter removes that strategy's points, hovering names
    the pair's run and serve row ids. No console error throughout."""
    from tests.serving.test_deploy import answers, rows
    from tests.serving.test_deploy import run_row as deploy_run

    rs = rows() + [deploy_run("full", answers(345))]
    page = write_report(rs, tmp_path / "deploy.html")
    browser.console()  # drain
    browser.open(page.as_uri())
    browser.js(EXPLORER_JS)
    titles = browser.js("return Array.from(document.querySelectorAll('#ex-set option')).map(o => o.textContent)")
    index = next(i for i, t in enumerate(titles) if t.startswith("Deployment"))
    browser.js(f"ex.pick('#ex-set', '{index}')")
    from bench.render.deploy import deploy_section

    tables = deploy_section(rs)["tables"]
    measured = [r for t in tables for r in t["rows"] if r["accuracy"] is not None and r["rate_at_slo_rps"]]
    first = browser.js("return ex.points()")
    assert len(first) == len(measured) == 2 * 9  # 9 measured pairs at N = 16 and 64 (full + model_copies too)
    assert any(p["front"] for p in first)

    browser.js("ex.pick('#ex-y', 'memory_bytes')")
    moved = browser.js("return ex.points()")
    assert len(moved) == len(first) and [p["y"] for p in moved] != [p["y"] for p in first]

    browser.js("ex.tick('strategy', 'model_copies')")
    kept = browser.js("return ex.points()")
    assert len(kept) == len(first) - 2 and "filtered out" in browser.js("return ex.summary()")

    browser.js("const c = document.querySelector('#ex-plot circle'); c.dispatchEvent(new MouseEvent('mouseenter'))")
    tip = browser.js("const t = document.querySelector('.ex-tip'); return t.hidden ? null : t.innerText")
    assert tip and "run-" in tip and "serve-" in tip
    assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
