"""Every committed results file as a report, alone and all combined, in headless chromium at 1280 px and
390 px (a phone): no horizontal page scroll, no console error, no two text boxes of a figure overlapping
(their boxes on screen, rotation included: getBoundingClientRect of each SVG <text>), figure text 10 px and
more at 1280 px, and each method's or strategy's colour the same in every figure of every report. One
browser session for all of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.render.html import write_report
from bench.rows.sources import combine
from bench.rows.store import read_rows
from tests.e2e.test_browser import CHROMEDRIVER, CHROMIUM, Browser

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
RESULTS = Path(__file__).resolve().parents[2] / "results"
FILES = sorted(RESULTS.glob("**/*.jsonl"))
WIDTHS = (1280, 390)

OVERLAPS = """
const out = [];
document.querySelectorAll('figure svg').forEach((svg, f) => {
  const boxes = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
    .map(t => [t.getBoundingClientRect(), t.textContent.trim()]).filter(([r]) => r.width > 0 && r.height > 0);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ta] = boxes[i], [b, tb] = boxes[j];
    const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (x > 1.5 && y > 1.5) out.push([f, ta, tb, Math.round(x), Math.round(y)]);
  }
});
return out;
"""
SMALLEST_TEXT = """
return Array.from(document.querySelectorAll('figure svg text')).filter(t => t.textContent.trim()).map(t => {
  const m = t.getScreenCTM();
  return [parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b), t.textContent.trim()];
}).sort((a, b) => a[0] - b[0]).slice(0, 1);
"""
COLOURS = """
const out = [];
document.querySelectorAll('figure svg [id^="method-"]').forEach(g => {
  const name = g.id.slice(7).replace(/-[0-9]+$/, '');
  for (const el of [g, ...g.querySelectorAll('path, use, rect')]) {
    const s = getComputedStyle(el);
    const c = [s.fill, s.stroke].find(v => v && v !== 'none' && v !== 'rgb(255, 255, 255)' && v !== 'rgb(0, 0, 0)');
    if (c && el !== g) { out.push([name, c]); break; }
  }
});
return out;
"""


def _width(browser, width: int) -> None:
    browser.cmd(
        "POST",
        "/goog/cdp/execute",
        {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
        },
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def colours_seen():
    return {}


CASES = [[p] for p in FILES] + [FILES]


@pytest.mark.parametrize(
    "paths", CASES, ids=lambda ps: str(ps[0].relative_to(RESULTS)) if len(ps) == 1 else "all-combined"
)
def test_report_reads_at_1280_and_390_px(browser, tmp_path, paths, colours_seen):
    rows = combine([(str(p), read_rows(p)) for p in paths]) if len(paths) > 1 else read_rows(paths[0])
    page = write_report(rows, tmp_path / "report.html")
    browser.console()  # drain
    for width in WIDTHS:
        _width(browser, width)
        browser.open(page.as_uri())
        assert browser.js("return window.innerWidth") == width
        assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
        scroll = browser.js("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll[0] <= scroll[1], f"page scrolls sideways at {width} px: {scroll}"
        assert browser.js(OVERLAPS) == [], f"text boxes overlap in a figure at {width} px"
        if width == 1280:
            smallest = browser.js(SMALLEST_TEXT)
            assert not smallest or smallest[0][0] >= 9.9, smallest
        for name, c in browser.js(COLOURS):
            colours_seen.setdefault(name, set()).add(c)
    mixed = {name: c for name, c in colours_seen.items() if len(c) > 1}
    assert mixed == {}, f"a name drawn in two colours across figures and reports: {mixed}"
    if browser.js("return document.querySelectorAll('figure svg').length"):
        assert colours_seen


def test_overlap_check_is_live(browser, tmp_path):
    """The negative control: two labels drawn on top of each other are found."""
    page = tmp_path / "overlap.html"
    page.write_text(
        '<!DOCTYPE html><figure><svg width="200" height="100"><text x="10" y="50">overlapping</text>'
        '<text x="20" y="52">labels</text></svg></figure>'
    )
    _width(browser, 1280)
    browser.open(page.as_uri())
    assert browser.js(OVERLAPS)


def test_history_report_reads_at_1280_and_390_px(browser, tmp_path, colours_seen):
    """The history report (two learning rates of lora among the runs): the same checks, and its colours are
    the reports' colours."""
    import json

    from bench.cli import main
    from tests.history.test_history import commit_rows

    rows = [r for n in (1, 2, 3, 4) for r in commit_rows(n)]
    rows += [{**r, "run_id": r["run_id"] + "x", "method_params": {"lr": 3e-3}} for r in rows if r["method"] == "lora"]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["history", "add", str(tmp_path / "rows.jsonl"), "--store", str(tmp_path / "store")]) == 0
    page = tmp_path / "history.html"
    assert main(["history", "report", "--store", str(tmp_path / "store"), "-o", str(page)]) == 0
    browser.console()  # drain
    for width in WIDTHS:
        _width(browser, width)
        browser.open(page.as_uri())
        assert [e for e in browser.console() if e["level"] in ("SEVERE", "ERROR")] == []
        assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth")
        assert browser.js(OVERLAPS) == []
        if width == 1280:
            assert browser.js(SMALLEST_TEXT)[0][0] >= 9.9
        seen = browser.js(COLOURS)
        assert len({c for name, c in seen if name.startswith("lora")}) == 2  # two learning rates, two colours
        for name, c in seen:
            colours_seen.setdefault(name, set()).add(c)
    assert {name: c for name, c in colours_seen.items() if len(c) > 1} == {}
