"""Sweeps over other parameters than the learning rate (suite `sweep:` points, e.g. a LoRA rank point beside
the learning-rate grid): plan, config errors, selection by validation accuracy, the tables."""

from __future__ import annotations

import pytest

from bench.analysis import aggregate, selection
from bench.cli import main
from bench.config import SuiteConfig, apply_overrides, load_suite
from bench.errors import BenchError
from bench.execute.run import base_row
from bench.execute.suite import plan
from bench.render.html import render
from bench.render.terminal import sweep_table
from tests.analysis.test_paired import Tables
from tests.render.test_html import run_row

R16 = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q", "v"]}
R64 = {**R16, "r": 64, "alpha": 128}


def row(lr, params, seed=0, val=0.8, acc=0.8, status="ok", sweep=True, **over) -> dict:
    r = run_row(
        "t",
        "lora",
        status=status,
        seed=seed,
        method_params={**params, "lr": lr},
        val_accuracy=val if status == "ok" else None,
        accuracy=acc,
        run_id=f"{lr}-{params['r']}-{seed}",
        **over,
    )
    if sweep:
        r["lr_sweep"] = [3e-4, 1e-3, 3e-3]
    return r


# The llm_rt pattern: a rate sweep at r = 16 over seed 0, seeds 1-2 at the chosen rate, then an r = 64 point
# at the chosen rate, seed 0 (run before `sweep:` existed: its row has lr_sweep [1e-3] and no `sweep`).
RATES = [
    row(3e-4, R16, val=0.850, acc=0.869),
    row(1e-3, R16, val=0.870, acc=0.876),
    row(3e-3, R16, val=0.865, acc=0.845),
    row(1e-3, R16, seed=1, val=0.865, acc=0.874),
    row(1e-3, R16, seed=2, val=0.875, acc=0.875),
]


def test_other_swept_parameters_are_part_of_the_setting():
    r64 = {**row(1e-3, R64, val=0.880, acc=0.870), "lr_sweep": [1e-3]}
    points = selection.sweep_points(RATES + [r64])
    assert [(p.setting, p.lr) for p in points] == [
        ("alpha=32, r=16", 3e-4),
        ("alpha=32, r=16", 1e-3),
        ("alpha=32, r=16", 3e-3),
        ("alpha=128, r=64", 1e-3),
    ]
    chosen = selection.selected_points(RATES + [r64])[("t", "minilm", "lora")]
    assert (chosen.others, chosen.lr) == ((("alpha", 128), ("r", 64)), 1e-3)  # 0.880 > 0.870 at seed 0
    assert chosen.val_seeds == (0,) and chosen.n == 1
    main_rows = selection.main_rows(RATES + [r64])
    assert [r["method_params"]["r"] for r in main_rows] == [64]  # not the r = 16 rows at the same rate
    assert aggregate.group(RATES + [r64])[("t", "lora")]["accuracy"] == pytest.approx(0.870)
    # r = 64 worse on validation: r = 16 at 1e-3 keeps all three seeds (compared at seed 0 only)
    worse = {**r64, "val_accuracy": 0.860}
    kept = selection.main_rows(RATES + [worse])
    assert sorted((r["method_params"]["r"], r["seed"]) for r in kept) == [(16, 0), (16, 1), (16, 2)]
    assert selection.selected_lrs(RATES + [worse]) == {("t", "minilm", "lora"): 1e-3}


def test_ties_go_to_the_smaller_setting_and_unswept_rows_stay_lr_only():
    tie = [row(1e-3, R64, val=0.8), row(1e-3, R16, val=0.8), row(1e-4, R16, val=0.8)]
    chosen = selection.selected_points(tie)[("t", "minilm", "lora")]
    assert (dict(chosen.others), chosen.lr) == ({"alpha": 32, "r": 16}, 1e-4)
    assert all(p.setting == "" for p in selection.sweep_points(RATES))  # only the rate differs: a rate sweep
    assert sweep_table(RATES).startswith("learning-rate sweep") and "setting" not in sweep_table(RATES).splitlines()[1]


def test_a_failed_row_without_resolved_parameters_does_not_split_the_setting():
    failed = row(1e-3, {"r": 64}, seed=1, status="failed", error="boom")
    failed["method_params"] = {"r": 64, "alpha": 128, "lr": 1e-3}  # only the overrides: it failed before resolving
    rows = RATES + [row(1e-3, R64, val=0.9), failed]
    points = {(p.setting, p.lr): p for p in selection.sweep_points(rows)}
    assert points["alpha=128, r=64", 1e-3].n == 2 and points["alpha=128, r=64", 1e-3].n_ok == 1


def test_terminal_and_html_tables_show_the_setting():
    rows = RATES + [row(1e-3, R64, val=0.880, acc=0.870)]
    text = sweep_table(rows)
    assert text.startswith("sweep of the learning rate and other parameters")
    (selected,) = [line for line in text.splitlines() if line.rstrip().endswith("*")]
    assert "alpha=128, r=64" in selected and "0.880" in selected
    html = render(rows)
    p = Tables()
    p.feed(html)
    sweep = p.rows["lr-sweep"]
    assert [(r["data-setting"], r["data-lr"], r["data-selected"]) for r in sweep][-1] == (
        "alpha=128, r=64",
        "0.001",
        "yes",
    )
    assert "Hyper-parameter sweep" in html and "alpha=128, r=64, lr 0.001, best of 4 by validation accuracy" in html


# ----------------------------------------------------------------------------- plan and config


def test_plan_runs_each_point_beside_the_rates(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "methods: [lora, prompt_tuning]\nparams: {lora: {r: 16, alpha: 32, dropout: 0.1}}\n"
        "lr_sweep: {lora: [1e-3, 3e-3]}\nsweep: {lora: [{r: 64, alpha: 128, lr: 1e-3}],"
        " prompt_tuning: [{num_virtual_tokens: 8}]}\n"
    )
    cfg = apply_overrides(load_suite(str(suite)), ["device=cpu", "tasks=rotten_tomatoes", "seeds=0,1"])
    specs = plan(cfg, show_progress=False)
    lora = [(s.params, s.seed) for s in specs if s.method == "lora"]
    d = {"dropout": 0.1}
    assert lora == [
        ({"r": 16, "alpha": 32, **d, "lr": 1e-3}, 0),
        ({"r": 16, "alpha": 32, **d, "lr": 1e-3}, 1),
        ({"r": 16, "alpha": 32, **d, "lr": 3e-3}, 0),
        ({"r": 16, "alpha": 32, **d, "lr": 3e-3}, 1),
        ({"r": 64, "alpha": 128, **d, "lr": 1e-3}, 0),
        ({"r": 64, "alpha": 128, **d, "lr": 1e-3}, 1),
    ]
    pt = [s.params for s in specs if s.method == "prompt_tuning"]
    assert pt == [{}, {}, {"num_virtual_tokens": 8}, {"num_virtual_tokens": 8}]  # its own setting, then the point
    assert len({s.config_hash for s in specs}) == len(specs)
    row = base_row(next(s for s in specs if s.params.get("r") == 64))
    assert row["sweep"] == [{"r": 64, "alpha": 128, "lr": 1e-3}] and row["lr_sweep"] == [1e-3, 3e-3]
    # a point is the same run as the plain method at its parameters (--resume finds the row)
    plain = plan(
        apply_overrides(
            SuiteConfig(device="cpu"),
            [
                "tasks=rotten_tomatoes",
                "seeds=0",
                "methods=lora",
                "params.lora.r=64",
                "params.lora.alpha=128",
                "params.lora.dropout=0.1",
                "params.lora.lr=1e-3",
            ],
        ),
        show_progress=False,
    )
    assert plain[0].config_hash in {s.config_hash for s in specs}
    # from the command line (YAML), and dropped with an empty list
    cli = apply_overrides(cfg, ["sweep.lora=[{r: 4, alpha: 8}, {r: 8}]", "sweep.prompt_tuning="])
    assert cli.sweep == {"lora": ({"r": 4, "alpha": 8}, {"r": 8})}


@pytest.mark.parametrize(
    "sets,message",
    [
        (["sweep.lora=[{r: 4"], r"^sweep.lora: not valid YAML"),
        (
            ["sweep.lora=[4, 8]"],
            r"^sweep.lora: expected a list of parameter mappings, e.g. \[\{r: 64, alpha: 128\}\], got \[4, 8\]",
        ),
        (["sweep.lora={r: 4}"], r"^sweep.lora: expected a list of parameter mappings"),
        (["sweep.lora=[{}]"], r"^sweep.lora: expected a list of parameter mappings"),
        (["sweep=[{r: 4}]"], r"sweep is set as sweep.<method>="),
    ],
)
def test_config_errors(sets, message):
    with pytest.raises(BenchError, match=message):
        apply_overrides(SuiteConfig(), sets)


@pytest.mark.parametrize(
    "sets,message",
    [
        (
            ["methods=lora", "sweep.full=[{lr: 1e-3}]"],
            r"^sweep given for method\(s\) not in this suite: full; suite methods: lora$",
        ),
        (["methods=zero_shot", "sweep.zero_shot=[{lr: 1e-3}]"], r"^sweep.zero_shot: zero_shot does not train"),
        (
            ["methods=lora", "sweep.lora=[{rank: 4}]"],
            r"^unknown key 'sweep.lora\[0\].rank'; valid keys: .*sweep.lora\[0\].r\b",
        ),
        (["methods=lora", "sweep.lora=[{r: x}]"], r"^sweep.lora\[0\].r: expected an integer"),
        (
            ["methods=lora", "params.lora.r=4", "sweep.lora=[{r: 4}]"],
            r"^sweep.lora: two points of lora's sweep have the same",
        ),
    ],
)
def test_plan_errors(sets, message):
    with pytest.raises(BenchError, match=message):
        plan(apply_overrides(SuiteConfig(device="cpu", tasks=["rotten_tomatoes"]), sets), show_progress=False)


def test_cli_bad_point_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(["run", "--methods", "lora", "--set", "sweep.lora=[{rank: 4}]", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown key 'sweep.lora[0].rank'") and err.count("\n") == 1
    assert not out.exists()
