"""The HTML report from a fixed set of rows: numbers equal the rows, sections present or "not measured",
failures shown, nothing loaded from anywhere. Its rows (run_row, switch_row, ROWS, SWITCH) serve other tests too."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.render.figures import pareto_front
from bench.render.html import headline, render, report_after_run, write_report

METHODS = {  # method: (accuracy, trainable_params, peak_mem_bytes, train_tokens_per_s, virtual tokens)
    "lora": (0.717, 74498, 1_443_164_160, 1523.7, 0),
    "prompt_tuning": (0.568, 8450, 1_803_112_448, 1063.4, 20),
    "head_only": (0.561, 770, 918_319_104, 2604.2, 0),
    "full": (0.626, 22_713_986, 1_764_970_496, 984.8, 0),
}


BASELINE = 400_000_000  # the process before the model: Python and torch


def run_row(task="rotten_tomatoes", method="lora", status="ok", sha="c1b439e283e2", **over) -> dict:
    acc, params, mem, tps, virtual = METHODS[method]
    row = {
        "schema_version": 1,
        "kind": "run",
        "run_id": f"{task}-{method}",
        "created_at": "2026-11-29T15:44:12+00:00",
        "git_sha": sha,
        "git_dirty": False,
        "machine_id": "44452a2e9aea",
        "suite": "quick",
        "task": task,
        "task_version": 1,
        "model": "minilm",
        "model_kind": "encoder",
        "method": method,
        "method_params": {"lr": 0.003},
        "seed": 0,
        "budget": {"epochs": 1, "batch_size": 32},
        "env": {
            "torch": "2.13.0+cpu",
            "transformers": "5.24.0",
            "peft": "0.21.2",
            "python": "3.11.7",
            "device_kind": "cpu",
            "device_name": "Test CPU @ 2.0GHz",
            "num_threads": 2,
        },
        "status": status,
        "error": None,
        "trainable_params": params,
        "total_params": 22_788_484,
        "trainable_pct": 100 * params / 22_788_484,
        "adapter_bytes": params * 4 + 1000,
        "accuracy": acc,
        "accuracy_ci_low": round(acc - 0.027, 3),
        "accuracy_ci_high": round(acc + 0.028, 3),
        "macro_f1": acc - 0.01,
        "n_eval": 1000,
        "train_tokens_per_s": tps,
        "train_tokens_per_s_effective": tps,
        "infer_tokens_per_s": 2373.01 + len(method),
        "infer_tokens_per_s_batch": 4070.03 - len(method),
        "infer_latency_ms_p50": 12.4984 + len(method) / 10,
        "infer_latency_ms_p95": 16.7,
        "peak_mem_bytes": mem,
        "mem_baseline_bytes": BASELINE,  # no peak_mem_own_bytes: a row from before it was recorded
        "virtual_tokens": virtual,
        "train_step_ms_samples": [575.4, 580.1],
        "infer_latency_ms_samples": [12.5, 12.6],
        "loss_curve": [0.69, 0.5],
    }
    if status != "ok":
        row.update(
            {
                k: None
                for k in (
                    "trainable_params",
                    "accuracy",
                    "accuracy_ci_low",
                    "accuracy_ci_high",
                    "train_tokens_per_s",
                    "infer_tokens_per_s",
                    "peak_mem_bytes",
                )
            }
        )
    row.update(over)
    return row


ROWS = (
    [run_row("rotten_tomatoes", m) for m in METHODS]
    + [
        run_row("debates_party", m, accuracy=acc, accuracy_ci_low=0.354, accuracy_ci_high=0.465)
        for m, acc in (("lora", 0.41), ("prompt_tuning", 0.395))
    ]
    + [run_row("debates_party", "full", status="oom", error="CUDA out of memory <tried to allocate 2 GiB>")]
)


def switch_row(strategy, n_tasks, rps, overhead, switch_ms=5.0, **over) -> dict:
    row = {
        "schema_version": 1,
        "kind": "switch",
        "run_id": f"sw-{strategy}-{n_tasks}",
        "created_at": "2026-11-29T16:00:00+00:00",
        "git_sha": "c1b439e283e2",
        "git_dirty": False,
        "machine_id": "44452a2e9aea",
        "suite": "quick",
        "model": "minilm",
        "env": {"device_kind": "cpu"},
        "strategy": strategy,
        "n_tasks": n_tasks,
        "batch_size": 8,
        "popularity": "uniform",
        "order": "shuffled",
        "length": "short",
        "switch_ms_p50": switch_ms,
        "switch_ms_p95": switch_ms * 1.5,
        "switch_ms_p99": switch_ms * 2,
        "requests_per_s": rps,
        "tokens_per_s": rps * 40,
        "overhead_vs_base_pct": overhead,
        "extra_tokens": 20 if "prompt" in strategy else 0,
        "adapter_bytes_resident": 300_000 * n_tasks,
        "peak_mem_bytes": 10**9,
        "gate_ok": True,
        "status": "ok",
    }
    row.update(over)
    return row


BASE_MS = [10.0, 10.1, 9.9, 10.2, 10.0, 9.8]
SWITCH = (
    [switch_row("base", n, 120, 0.0, switch_ms=0.0, batch_ms_samples=BASE_MS) for n in (1, 4)]
    + [
        switch_row(
            "merge_swap",
            n,
            100 / n,
            20.0 * n,
            switch_ms=40.0,
            break_even_requests_per_task=k,
            batch_ms_samples=[1.2 * x for x in BASE_MS],
        )
        for n, k in ((1, 12.5), (4, None))
    ]
    + [switch_row("gathered_lora", n, 80 - n, 8.0, switch_ms=0.0) for n in (1, 4)]
    + [switch_row("mixed_prompt_batch", n, 78.0, 6.0, switch_ms=0.0, gate_ok=(n == 1)) for n in (1, 4)]
)


class Cells(HTMLParser):
    """Collects (task, method, metric) -> data-value, section ids and every URL-bearing attribute."""

    def __init__(self):
        super().__init__()
        self.values, self.ids, self.urls, self.task, self.method, self.svgs, self.tables = {}, [], [], None, None, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.ids += [a["id"]] if "id" in a else []
        self.urls += [v for k, v in attrs if k in ("src", "href", "action", "xlink:href", "poster") and v]
        self.svgs += tag == "svg"
        if tag == "table":
            self.tables.append(a.get("class"))
            self.task = a.get("data-task")
        if tag == "tr" and "data-method" in a:
            self.method = a["data-method"]
        if tag == "td" and "data-metric" in a and "data-value" in a:
            self.values[(self.task, self.method, a["data-metric"])] = float(a["data-value"])


@pytest.fixture(scope="module")
def html() -> str:
    return render(ROWS)


@pytest.fixture(scope="module")
def parsed(html) -> Cells:
    p = Cells()
    p.feed(html)
    return p


def test_table_numbers_equal_the_rows(parsed):
    checked = 0
    for r in ROWS:
        if r["status"] != "ok":
            continue
        for metric in (
            "accuracy",
            "trainable_params",
            "adapter_bytes",
            "train_tokens_per_s",
            "infer_tokens_per_s",
            "infer_tokens_per_s_batch",
            "infer_latency_ms_p50",
            "peak_mem_own_bytes",
        ):
            want = r["peak_mem_bytes"] - BASELINE if metric == "peak_mem_own_bytes" else r[metric]  # derived: old rows
            assert parsed.values[(r["task"], r["method"], metric)] == want, (r["task"], r["method"], metric)
            checked += 1
    assert checked == 6 * 8
    assert ("debates_party", "full", "accuracy") not in parsed.values  # the oom run has no numbers


def test_table_text_best_marks_and_arrows(html):
    assert "0.717 [0.690, 0.745]" in html  # accuracy with its CI, as in the row
    assert "74.50k (0.327 %)" in html
    best = re.findall(r'data-metric="(\w+)" data-value="([\d.e+-]+)" class="best"', html)
    assert (
        ("accuracy", "0.717") in best
        and ("trainable_params", "770") in best
        and ("peak_mem_own_bytes", "518319104") in best
    )
    assert 'accuracy (95% CI) <span class="arrow">↑</span>' in html
    assert 'latency p50 ms <span class="arrow">↓</span>' in html


def test_headline_from_the_numbers():
    text = " ".join(headline(ROWS))
    assert (
        "rotten_tomatoes: lora (0.717) is the most accurate of 4 methods, +0.091 over full "
        "(accuracy intervals disjoint): clearly ahead." in text
    )
    assert "With fewer trainable parameters than its 74.50k: prompt_tuning (0.568)." in text
    assert "+0.015 over prompt_tuning (accuracy intervals overlap): not clearly ahead" in text  # debates_party
    assert "latency" not in text and "fastest" not in text  # no superlatives beside the choice
    assert headline([run_row(status="failed")]) == ["No run finished ok: see the failed runs below."]
    chance = [run_row("t", m, accuracy=0.555, accuracy_ci_low=0.49, accuracy_ci_high=0.62) for m in ("lora", "full")]
    assert headline(chance)[0].startswith("t: lora (0.555) is the most accurate of 2 methods, +0.000 over full")
    assert "With fewer" not in headline(chance)[0]  # lora ties full with fewer parameters: no cheaper choice


def test_headline_says_a_method_that_trains_nothing_has_no_adapter():
    zero = {**run_row("t", "head_only"), "method": "zero_shot", "run_id": "t-zero_shot", "trainable_params": 0}
    zero.update(adapter_bytes=0, accuracy=0.9, accuracy_ci_low=0.88, accuracy_ci_high=0.92)
    (sentence,) = headline([zero, run_row("t", "lora")])
    assert sentence.startswith("t: zero_shot (0.900, trains nothing: no adapter) is the most accurate")
    assert sentence.endswith("No trained method beats it.")
    (sentence,) = headline([{**zero, "accuracy": 0.5, "accuracy_ci_low": 0.45, "accuracy_ci_high": 0.55}, run_row("t")])
    assert sentence.endswith("than its 74.50k: zero_shot (0.500, trains nothing: no adapter).")


def test_headline_and_choice_read_no_flagged_run():
    one_class = {"label_counts": [50, 50], "pred_counts": [100, 0]}
    flagged = [{**r, **one_class} for r in ROWS]
    assert headline(flagged) == [
        "No healthy ok run: the health checks flag every ok run (see the warnings), so nothing is chosen."
    ]
    assert "No healthy ok run to choose from: the health checks flag every ok run" in render(flagged)


def test_sections_failures_and_missing_switching(html, parsed):
    for section in ("headline", "table", "pareto", "claims", "failures", "provenance"):
        assert section in parsed.ids
    assert "history" not in parsed.ids and "switching" not in parsed.ids  # no switching rows: no section
    assert "CUDA out of memory &lt;tried to allocate 2 GiB&gt;" in html  # the error, escaped
    assert parsed.tables.count("results") == 2 and "failures" in parsed.tables and "provenance" in parsed.tables
    assert parsed.svgs >= 3  # the three Pareto plots (the matplotlib SVG may nest none)
    assert html.count('data-verdict="') == 2  # claims 3 and 7 measured, each a card
    line = re.search(r'<p class="not-measured-claims">(.*?)</p>', html, re.S).group(1)
    assert [m.split() for m in re.findall(r'data-claims="([\d ]+)"', line)] == [["1", "2"], ["4", "5", "6"]]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", line))
    assert "claims 1, 2 (full fine-tuning rows with update_spectrum: python -m bench run --suite quick);" in text
    assert "claims 4-6 (switching rows: python -m bench switch, or python -m bench run --suite quick," in text
    assert "2.13.0+cpu" in html and "c1b439e283e2" in html and "Test CPU @ 2.0GHz" in html


def test_self_contained_nothing_loads(html, parsed):
    external = [u for u in parsed.urls if not u.startswith(("#", "data:"))]
    assert external == []
    assert not re.search(r"<(link|img|iframe)\b", html)
    # scripts: the explorer's data (JSON, never run) and its script, inline, allowed by hash (test_explorer.py)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="explorer-data">', "<script>"]
    assert not re.search(r"url\((?!#)", html) and "@import" not in html  # url(#clip) points inside the page
    assert "default-src 'none'" in html  # and the browser is told to refuse any load


def test_csv_download_holds_every_row(parsed):
    uri = next(u for u in parsed.urls if u.startswith("data:text/csv"))
    text = base64.b64decode(uri.split(",", 1)[1]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(ROWS)
    assert float(rows[0]["accuracy"]) == ROWS[0]["accuracy"] and rows[0]["env.torch"] == "2.13.0+cpu"
    assert json.loads(rows[0]["train_step_ms_samples"]) == ROWS[0]["train_step_ms_samples"]


def test_switching_and_history_sections():
    html = render(ROWS + SWITCH, history=[[run_row(sha="aaaa")], ROWS])
    p = Cells()
    p.feed(html)
    assert "history" in p.ids and "switching" in p.tables and "history" in p.tables
    assert "Not measured in this run: no switching rows" not in html
    assert "N = 1, batch 8, uniform / shuffled, short inputs: merging pays after 12.5 requests per task" in html
    assert "N = 4, batch 8, uniform / shuffled, short inputs: merging never pays" in html
    assert "1 gate(s) failed." in html
    assert p.svgs >= 3 + 3 + 1


def test_write_report_and_cli(tmp_path, capsys):
    out = write_report(ROWS, tmp_path / "r" / "index.html")
    assert out.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(BenchError):
        write_report([], tmp_path / "empty.html")
    results = tmp_path / "rows.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in ROWS[:2]))
    assert main(["report", str(results), str(results), "-o", str(tmp_path / "cli.html")]) == 0
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'cli.html'}"
    assert 'id="history"' in (tmp_path / "cli.html").read_text()
    assert main(["report", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot read results") and len(err.splitlines()) == 1


def test_report_after_run_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert report_after_run(ROWS[:1], tmp_path / "x" / "rows.jsonl", default_location=False) == str(
        tmp_path / "x" / "rows.html"
    )
    assert report_after_run(ROWS[:1], "results/runs/20260101-quick.jsonl") == "report/20260101-quick.html"
    assert report_after_run([], "results/runs/a.jsonl").startswith("not written")  # the run's rows are safe


def test_pareto_front():
    pts = [(770, 0.56), (8450, 0.57), (74498, 0.72), (22.7e6, 0.63), (8450, 0.50)]
    assert pareto_front(pts) == [0, 1, 2]
    assert pareto_front([(1, 0.5), (2, 0.6)], x_lower_better=False) == [1]


def test_the_switch_table_shows_the_spread_of_the_repeats():
    base = switch_row("base", 8, 100, 0.0, total_ms_samples=[99.0, 100.0, 101.0])
    wide = switch_row("gathered_lora", 8, 92, 8.0, total_ms_samples=[95.0, 108.0, 125.0])
    html = render(ROWS + [base, wide])
    assert '+8.0 %<br><span class="meta">-5.9 to +26.3 %</span>' in html


def test_the_switch_table_prints_memory_in_binary_units_never_raw_bytes():
    row = switch_row("merge_swap", 8, 90, 5.0, peak_mem_bytes=1017405440, adapter_bytes_resident=3 * 2**20)
    html = render(ROWS + [switch_row("base", 8, 100, 0.0), row])
    table = html[
        html.index('<table class="switching">') : html.index("</table>", html.index('<table class="switching">'))
    ]
    assert "970.3 MiB" in table and "3.0 MiB" in table
    assert "1017405440" not in table and "3145728" not in table
