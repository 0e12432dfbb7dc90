"""One colour per method in every figure of a report (and of the history report): read from the SVGs."""

from __future__ import annotations

import json
import re

from bench.cli import main
from bench.render.html import render
from bench.render.palette import KNOWN, method_colour
from tests.history.test_history import commit_rows
from tests.render.test_html import METHODS, ROWS, run_row

GROUP = re.compile(r'<g id="method-(.+?)-\d+">(.*?)</g>', re.S)
FILL = re.compile(r"fill: (#[0-9a-fA-F]{6})")


def colours_by_method(html: str) -> tuple[dict[str, set[str]], int]:
    """method -> the fill colours of its marks, over every figure; and how many figures had marks."""
    out: dict[str, set[str]] = {}
    figures = re.findall(r"<svg.*?</svg>", html, re.S)
    drawn = 0
    for svg in figures:
        found = GROUP.findall(svg)
        drawn += bool(found)
        for method, body in found:
            out.setdefault(method, set()).update(c.lower() for c in FILL.findall(body) if c.lower() != "#ffffff")
    return out, drawn


def test_every_method_has_one_colour_in_every_figure_of_the_report():
    history = [[run_row(m, sha="0ld0ld0ld0ld") for m in METHODS], ROWS]
    html = render(ROWS, history=history)
    got, drawn = colours_by_method(html)
    assert drawn >= 4  # three Pareto figures and the history figure
    assert set(METHODS) <= set(got)
    for method, colours in got.items():
        assert colours == {method_colour(method)}, (method, colours)
    assert len({method_colour(m) for m in METHODS}) == len(METHODS)


def test_history_report_uses_the_same_colours(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for n in (1, 2, 3) for r in commit_rows(n)))
    main(["history", "add", str(path), "--store", str(tmp_path / "store")])
    out = tmp_path / "h.html"
    assert main(["history", "report", "--store", str(tmp_path / "store"), "-o", str(out)]) == 0
    got, drawn = colours_by_method(out.read_text())
    assert drawn >= 5 and set(got) == {"lora", "prompt_tuning", "head_only", "full"}
    assert all(colours == {KNOWN[m]} for m, colours in got.items()), got


def test_unknown_methods_keep_a_colour_of_their_own_name():
    assert method_colour("my_adapter.json") == method_colour("my_adapter.json")
    assert method_colour("lora (epochs=2)") == KNOWN["lora"]
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", method_colour("x"))
