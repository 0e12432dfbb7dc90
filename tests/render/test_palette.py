"""One colour per method in every figure of a report (and of the history report): read from the SVGs."""

from __future__ import annotations

import json
import re

from bench.cli import main
from bench.options import STRATEGIES
from bench.render.figures import short_number
from bench.render.html import render
from bench.render.palette import KNOWN, colour, colours
from bench.render.palette import METHODS as METHOD_COLOURS
from bench.render.palette import STRATEGIES as STRATEGY_COLOURS
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
    for method, found in got.items():
        assert found == {colour(method)}, (method, found)
    assert len({colour(m) for m in METHODS}) == len(METHODS)


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
    assert colour("my_adapter.json") == colour("my_adapter.json")
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", colour("x"))


def test_methods_and_strategies_share_one_palette_with_no_colour_twice():
    assert set(METHOD_COLOURS) & set(STRATEGY_COLOURS) == set()
    assert len(set(KNOWN.values())) == len(KNOWN) == len(METHOD_COLOURS) + len(STRATEGY_COLOURS)
    assert set(STRATEGIES) <= set(STRATEGY_COLOURS)  # every strategy the suite ships has its fixed colour
    assert all(colour(name) == c for name, c in KNOWN.items())


def test_settings_of_one_method_differ_and_keep_their_colour_in_any_order():
    names = ["lora", "lora (lr=0.001)", "lora (lr=0.003)", "lora (lr=0.01)", "full (lr=0.001)", "prompt_tuning"]
    got = colours(names)
    assert len(set(got.values())) == len(names)  # two learning rates of one method differ
    assert got["lora"] == KNOWN["lora"] and got["prompt_tuning"] == KNOWN["prompt_tuning"]
    assert colours(reversed(names)) == got  # the same names: the same colours, whatever the order
    assert colour("lora (epochs=2)") != KNOWN["lora"] and colour("lora (epochs=2)") == colour("lora (epochs=2)")


def test_tick_labels_are_short_plain_numbers():
    assert [short_number(v, 1e3) for v in (770, 1e3, 1e4, 1e5, 1e6, 1e7, 2.27e7)] == [
        "770", "1k", "10k", "100k", "1M", "10M", "22.7M",
    ]  # fmt: skip
    assert [short_number(v) for v in (1200, 0.01, 12_000)] == ["1200", "0.01", "12k"]


def test_each_strategy_has_its_one_colour_in_the_switching_bars_and_lines():
    from tests.render.test_html import SWITCH

    html = render(ROWS + SWITCH)
    switching = html[html.index('<section id="switching"') :]
    switching = switching[: switching.index("</section>")]
    got, drawn = colours_by_method(switching)
    assert drawn >= 2  # the swap-latency bars and the lines against N
    assert {"merge_swap", "base"} <= set(got)
    for strategy, found in got.items():
        assert found == {colour(strategy)}, (strategy, found)
