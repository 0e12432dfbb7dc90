"""The report's explorer, its Python half: the data sets it embeds (one point per record, values equal to the
rows', the figures' colours), the JSON's escaping inside a script block, and the page policy that allows its
one script by hash and nothing else. Drawn, filtered and hovered in Chromium: tests/e2e/test_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from bench.render import CSP
from bench.render.explorer import (
    Axis,
    csp,
    dataset,
    declared_axes,
    explorer_section,
    payload,
    run_dataset,
    script,
    serve_dataset,
)
from bench.render.html import render
from bench.render.palette import colour as method_colour
from bench.render.palette import colour as strategy_colour
from bench.rows.schema import metrics
from bench.rows.store import read_rows
from tests.render.test_html import ROWS, SWITCH, run_row

SERVE = Path(__file__).resolve().parents[2] / "results" / "serving" / "serve-cpu.jsonl"


def test_run_points_are_the_ok_runs_means_with_their_run_ids_and_the_figures_colours():
    rows = ROWS + [run_row("rotten_tomatoes", "lora", run_id="second-seed", seed=1, accuracy=0.737)]
    ds = run_dataset(rows)
    by = {(p["f"]["task"], p["f"]["method"]): p for p in ds["points"]}
    ok = {(r["task"], r["method"]) for r in ROWS if r["status"] == "ok"}
    assert set(by) == ok  # the OOM run draws nothing
    lora = by["rotten_tomatoes", "lora"]
    assert lora["ids"] == ["rotten_tomatoes-lora", "second-seed"] and "seeds 0, 1" in lora["info"]
    assert abs(lora["v"]["accuracy"] - (0.717 + 0.737) / 2) < 1e-12
    assert by["rotten_tomatoes", "full"]["v"]["trainable_params"] == 22_713_986
    assert ds["colours"] == {m: method_colour(m) for m in ("lora", "prompt_tuning", "head_only", "full")}
    names = {a["name"] for a in ds["axes"]}
    assert names <= {m.name for m in metrics(kind="run")} and {"accuracy", "trainable_params"} <= names
    assert "total_ms_p50" not in names  # a switch row's metric: no run has it
    assert all(a["direction"] == metrics(lambda m, n=a["name"]: m.name == n)[0].direction for a in ds["axes"])
    assert (ds["x"], ds["y"], ds["front_by"]) == ("trainable_params", "accuracy", ["task", "model"])


def test_serve_points_are_the_ok_serve_rows_coloured_by_strategy_and_settings_have_no_direction():
    rows = read_rows(SERVE)
    ds = serve_dataset(rows)
    ok = [r for r in rows if r.get("kind") == "serve" and r.get("status") == "ok"]
    assert len(ds["points"]) == len(ok) > 0
    assert [p["ids"] for p in ds["points"]] == [[r["run_id"]] for r in ok]
    assert [p["v"].get("rate_at_slo_rps") for p in ds["points"]] == [r.get("rate_at_slo_rps") for r in ok]
    assert ds["colours"] == {r["strategy"]: strategy_colour(r["strategy"]) for r in ok}
    axes = {a["name"]: a for a in ds["axes"]}
    assert axes["rate_at_slo_rps"]["direction"] == "higher" and axes["n_tasks"]["direction"] is None
    assert "strategy" in ds["facets"] and "n_tasks" in ds["front_by"]


def test_any_list_of_records_is_a_data_set_and_one_without_two_axes_is_none():
    records = [
        {"method": "lora", "strategy": "gathered_lora", "acc": 0.8, "rps": 12.5, "run_ids": ["a", "b"]},
        {"method": "prompt_tuning", "strategy": "mixed_prompt_batch", "acc": 0.7, "rps": float("nan")},
    ]
    axes = [Axis("acc", "accuracy", "fraction", "higher"), Axis("rps", "rate", "requests/s", "higher")]
    ds = dataset("deploy", "pairs", records, axes, ("method", "strategy"), "strategy", strategy_colour, "x?", "acc")
    assert (ds["x"], ds["y"]) == ("acc", "rps")  # an unknown default falls back to the first axis, y to another
    assert ds["points"][0] == {
        "v": {"acc": 0.8, "rps": 12.5},
        "f": {"method": "lora", "strategy": "gathered_lora"},
        "ids": ["a", "b"],
        "info": "",
    }
    assert ds["points"][1]["v"] == {"acc": 0.7} and ds["points"][1]["ids"] == []  # NaN: no value, not drawn
    assert dataset("d", "t", records, axes[:1], (), "method", method_colour, "acc", "acc") is None
    declared = declared_axes(["rate_at_slo_rps", "not_a_metric", "accuracy"])
    assert [(a.name, a.direction) for a in declared] == [("rate_at_slo_rps", "higher"), ("accuracy", "higher")]
    assert dataset("d", "t", [], axes, (), "method", method_colour, "acc", "rps") is None


def test_payload_cannot_close_its_script_block_and_reads_back_equal():
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    sets = [{"id": "runs", "points": [{"f": {"method": hostile}}]}, None]
    text = payload(sets)
    assert not set("<>&") & set(text)
    assert json.loads(text) == [sets[0]]


def test_the_report_allows_exactly_its_explorer_script_by_hash_and_still_blocks_every_load():
    html = render(ROWS + SWITCH + read_rows(SERVE))
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert policy == csp() and policy.startswith(CSP + "; script-src 'sha256-")
    assert "unsafe-inline" not in policy.split("script-src")[1] and "default-src 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert scripts == [script()]  # the one executable script is the package's file, byte for byte
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    data = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', html, re.S).group(1)
    assert [d["id"] for d in json.loads(data)] == ["runs", "serve"]
    assert '<a href="#explorer">' in html and "@media print" in html


def test_rows_with_nothing_to_explore_get_no_explorer_and_no_script():
    assert explorer_section(SWITCH) is None
    html = render(SWITCH)
    assert 'id="explorer"' not in html and "<script" not in html
    assert f'content="{CSP}"' in html


def test_the_script_is_small_and_its_own():
    text = script()
    assert len(text.encode()) < 30_000 and "http" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "innerHTML" not in text and "eval(" not in text  # names are set as text, never parsed as markup


def test_a_hostile_name_in_the_rows_adds_no_script_to_the_page():
    evil = "</script><script>alert(1)</script><!--"
    html = render([run_row(evil, "lora"), run_row(evil, "full")])
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="explorer-data">', "<script>"]
    data = re.search(r'id="explorer-data">(.*?)</script>', html, re.S).group(1)
    assert {p["f"]["task"] for p in json.loads(data)[0]["points"]} == {evil}


def test_the_deployment_table_is_a_data_set_of_its_own():
    """Runs and serve rows of one model: the explorer carries the deployment pairs, one point per pair and N,
    with the run ids of both halves, on the deployment table's own axes."""
    root = Path(__file__).resolve().parents[2] / "results"
    rows = read_rows(root / "llm" / "cpu-amd-epyc-2c.jsonl") + read_rows(
        root / "deploy" / "serve-cpu-amd-epyc-2c.jsonl"
    )
    page = render(rows)
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1))
    deploy = next(d for d in data if d["id"] == "deploy")
    from bench.render.deploy import deploy_section

    tables = deploy_section(rows)["tables"]
    assert len(deploy["points"]) == sum(len(t["rows"]) for t in tables) > 0
    assert (deploy["x"], deploy["y"]) == ("rate_at_slo_rps", "accuracy")
    assert {p["f"]["n_tasks"] for p in deploy["points"]} == {str(t["n"]) for t in tables}
    measured = [p for p in deploy["points"] if "rate_at_slo_rps" in p["v"] and "accuracy" in p["v"]]
    assert measured and all(len(p["ids"]) == 2 for p in measured)


def test_a_deployment_point_s_hover_says_what_it_assumes_and_what_is_missing():
    from tests.serving.test_deploy import rows as deploy_rows

    page = render(deploy_rows())  # no run of full fine-tuning: its copies are derived from base and missing a run
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1))
    full = [p for p in next(d for d in data if d["id"] == "deploy")["points"] if p["f"]["strategy"] == "model_copies"]
    assert len(full) == 2 and all("assumed: no serve row serves" in p["info"] for p in full)
    assert all("missing: no run of full" in p["info"] for p in full)
