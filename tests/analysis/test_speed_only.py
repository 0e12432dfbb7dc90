"""Runs on random weights (shape-only models, `weights: random`) never enter what reads accuracy: the main records,
the sweep selection, the health checks, the choice under a budget, the claims, the paired comparison; their speed
has its own records, terminal table and report section, per model, layers and dtype."""

from __future__ import annotations

from bench.analysis import aggregate as agg
from bench.analysis import health
from bench.analysis.claims import assess
from bench.analysis.decide import decide
from bench.analysis.paired import paired
from bench.analysis.selection import main_rows, speed_only, sweep_points
from bench.render.html import method_table, render
from bench.render.terminal import speed_table, summary_table
from tests.render.test_html import ROWS, run_row

ACCURACY = ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_f1", "n_eval")


def speed_row(method="lora", layers=2, seed=0, tps=500.0, **over) -> dict:
    """A shape-only run's row: no accuracy field, a loss that rose (random labels), a sweep it is part of."""
    row = run_row("rotten_tomatoes", method, model="shape:llama-3.2-1b", weights="random", layers=layers, dtype="bf16")
    for k in ACCURACY:
        row.pop(k)
    row.update(seed=seed, run_id=f"shape-{method}-{layers}-{seed}", train_tokens_per_s=tps, lr_sweep=[1e-3, 3e-3])
    row.update(loss_curve=[0.6] * 10 + [0.9] * 20, **over)
    return row


SPEED = [speed_row("lora"), speed_row("lora", seed=1, tps=700.0), speed_row("prompt_tuning"), speed_row(layers=4)]


def test_speed_rows_enter_no_accuracy_reading():
    rows = list(ROWS) + SPEED
    assert all(speed_only(r) for r in SPEED) and not any(speed_only(r) for r in ROWS)
    assert main_rows(rows) == main_rows(list(ROWS)) and health.healthy(rows) == health.healthy(list(ROWS))
    assert agg.group(rows) == agg.group(list(ROWS))
    assert sweep_points(rows) == []  # their lr_sweep makes no sweep: they have no validation accuracy
    assert decide(rows) == decide(list(ROWS))
    assert assess(rows) == assess(list(ROWS))
    assert paired(rows) == paired(list(ROWS))
    assert health.warnings(rows) == health.warnings(list(ROWS))  # a rising loss on random labels says nothing
    assert summary_table(rows) == summary_table(list(ROWS))
    assert method_table(rows) == method_table(list(ROWS))


def test_speed_records_are_per_model_setting_task_and_method():
    recs = agg.speed_records(list(ROWS) + SPEED)
    assert [(r["layers"], r["label"], r["n"]) for r in recs] == [
        (2, "lora", 2),
        (2, "prompt_tuning", 1),
        (4, "lora", 1),
    ]
    lora = recs[0]
    assert lora["train_tokens_per_s"] == 600.0 and lora["model"] == "shape:llama-3.2-1b" and lora["dtype"] == "bf16"
    assert "accuracy" not in lora and agg.speed_records(list(ROWS)) == []
    failed = agg.speed_records([speed_row(status="oom", error="out of memory", train_tokens_per_s=None)])
    assert failed[0]["n_ok"] == 0 and failed[0]["statuses"] == ["oom"]


def test_the_terminal_and_the_report_show_their_speed_apart():
    text = speed_table(list(ROWS) + SPEED)
    lines = text.splitlines()
    assert lines[0].startswith("speed at model shapes") and len(lines) == 3 + 3
    assert "shape:llama-3.2-1b, 2 layers, bf16" in lines[3] and " 600 " in lines[3]
    assert speed_table(list(ROWS)) == ""
    html = render(list(ROWS) + SPEED)
    start = html.index('<section id="speed">')
    section = html[start : html.index("</section>", start)]
    assert section.count('data-method="lora"') == 2 and 'data-value="600.0"' in section
    assert 'id="speed"' not in render(list(ROWS))
    only = render(SPEED)
    assert "Only runs on random weights (shape-only models) finished ok" in only
