"""Fair tuning: learning-rate sweeps (plan, selection by validation accuracy, every consumer on the selected
rate only). The paired comparison built on the selected rows is in test_paired.py."""

from __future__ import annotations

import pytest

from bench.analysis import aggregate, claims, selection
from bench.cli import main
from bench.config import SuiteConfig, apply_overrides, load_suite
from bench.errors import BenchError
from bench.execute.run import base_row
from bench.execute.suite import plan
from bench.render.terminal import summary_table, sweep_table
from tests.render.test_html import run_row

SWEEP = [1e-4, 1e-3, 1e-2]


def sweep_row(task="t", method="lora", lr=1e-3, seed=0, val=0.7, acc=0.7, status="ok", **over) -> dict:
    row = run_row(
        task,
        method,
        status=status,
        seed=seed,
        method_params={"lr": lr, "r": 8},
        lr_sweep=SWEEP,
        val_accuracy=val if status == "ok" else None,
        run_id=f"{task}-{method}-{lr}-{seed}",
    )
    if status == "ok":
        row.update(accuracy=acc, accuracy_ci_low=acc - 0.03, accuracy_ci_high=acc + 0.03)
    row.update(over)
    return row


# (lr, seed) -> (val accuracy, test accuracy). 1e-2 has the best single seed and the best test accuracy;
# 1e-3 has the best mean validation accuracy and must win.
GRID = {
    (1e-4, 0): (0.60, 0.61),
    (1e-4, 1): (0.62, 0.60),
    (1e-3, 0): (0.80, 0.74),
    (1e-3, 1): (0.78, 0.76),
    (1e-2, 0): (0.90, 0.90),
    (1e-2, 1): (0.50, 0.88),
}
LORA_SWEEP = [sweep_row(lr=lr, seed=s, val=v, acc=a) for (lr, s), (v, a) in GRID.items()]


# ----------------------------------------------------------------------------- selection


def test_best_mean_validation_accuracy_wins_not_test_accuracy():
    assert selection.selected_lrs(LORA_SWEEP) == {("t", "minilm", "lora"): 1e-3}
    points = {p.lr: p for p in selection.sweep_points(LORA_SWEEP)}
    assert [p.lr for p in selection.sweep_points(LORA_SWEEP)] == SWEEP  # ordered by rate
    assert points[1e-3].selected and not points[1e-2].selected and not points[1e-4].selected
    assert points[1e-3].val_accuracy == pytest.approx(0.79) and points[1e-3].accuracy == pytest.approx(0.75)
    assert points[1e-2].n == points[1e-2].n_ok == 2


def test_ties_go_to_the_smaller_rate():
    rows = [
        sweep_row(lr=lr, seed=s, val=v)
        for lr, s, v in ((1e-2, 0, 0.7), (1e-2, 1, 0.8), (1e-3, 0, 0.8), (1e-3, 1, 0.7), (1e-4, 0, 0.6), (1e-4, 1, 0.6))
    ]
    assert selection.selected_lrs(rows)[("t", "minilm", "lora")] == 1e-3
    assert selection.choose({3e-3: 0.5, 1e-3: 0.5 + 1e-12, 1e-2: 0.4}) == 1e-3
    assert selection.choose({3e-3: 0.5, 1e-3: 0.49}) == 3e-3
    assert selection.choose({3e-3: None}) is None


def test_rates_are_compared_at_the_seeds_they_share():
    """The llm_rt workflow: the sweep at seed 0, then seeds 1 and 2 at the chosen rate. Those later seeds
    (lower on validation here) must not flip the choice to a rate that lost at seed 0."""
    rows = [
        sweep_row(lr=3e-2, seed=0, val=0.87),
        sweep_row(lr=3e-2, seed=1, val=0.845),
        sweep_row(lr=3e-2, seed=2, val=0.85),
        sweep_row(lr=1e-1, seed=0, val=0.86),
    ]
    points = {p.lr: p for p in selection.sweep_points(rows)}
    assert selection.selected_lrs(rows)[("t", "minilm", "lora")] == 3e-2  # all rows' mean (0.855) would pick 1e-1
    assert points[3e-2].val_accuracy == pytest.approx(0.87) and points[3e-2].val_seeds == (0,)
    assert points[3e-2].n_ok == 3 and points[3e-2].accuracy == pytest.approx(0.7)  # test: over all its seeds
    no_shared = [
        sweep_row(lr=3e-2, seed=1, val=0.8),
        sweep_row(lr=3e-2, seed=2, val=0.6),
        sweep_row(lr=1e-1, seed=0, val=0.75),
    ]
    assert selection.selected_lrs(no_shared)[("t", "minilm", "lora")] == 1e-1  # no shared seed: every row, 0.70 vs 0.75
    assert "val seeds" in sweep_table(rows) and "0" in sweep_table(rows)


def test_failed_rows_are_ignored():
    rows = LORA_SWEEP + [  # 1e-5: one ok seed at 0.95 beats all, its failed seed does not pull the mean down
        sweep_row(lr=1e-5, seed=0, val=0.95),
        sweep_row(lr=1e-5, seed=1, status="failed", error="diverged", val_accuracy=0.0),
        sweep_row(lr=1.0, seed=0, status="oom", val_accuracy=0.99),  # a failed rate is never selected
    ]
    assert selection.selected_lrs(rows)[("t", "minilm", "lora")] == 1e-5
    points = {p.lr: p for p in selection.sweep_points(rows)}
    assert points[1e-5].val_accuracy == 0.95 and points[1e-5].n == 2 and points[1e-5].n_ok == 1
    assert points[1.0].n_ok == 0 and points[1.0].val_accuracy is None and not points[1.0].selected
    main = selection.main_rows(rows)
    assert {r["method_params"]["lr"] for r in main} == {1e-5}
    assert len(main) == 2  # the selected rate's failed seed still shows in the main table's status


def test_all_failed_group_keeps_its_failures_and_no_validation_selects_nothing():
    failed = [sweep_row(lr=lr, status="failed", error="boom") for lr in SWEEP]
    assert selection.main_rows(failed) == failed
    assert selection.selected_lrs(failed) == {("t", "minilm", "lora"): None}
    no_val = [sweep_row(lr=lr, val_accuracy=None) for lr in SWEEP]
    assert selection.main_rows(no_val) == []  # the test set never picks a rate


def test_rows_without_sweep_are_untouched():
    plain = [
        run_row("t", "prompt_tuning", seed=s, method_params={"lr": lr}, val_accuracy=v)
        for s, lr, v in ((0, 0.03, 0.5), (1, 0.01, 0.9))
    ]  # different lrs, no sweep: not selected among
    other_task = [run_row("u", "lora", method_params={"lr": 1e-2}, val_accuracy=0.1)]
    rows = plain + other_task + LORA_SWEEP
    main = selection.main_rows(rows)
    assert main[:3] == plain + other_task
    assert all(r in main for r in plain + other_task)
    assert selection.main_rows(plain) is plain
    assert set(selection.selected_lrs(rows)) == {("t", "minilm", "lora")}


def test_plain_row_of_a_swept_method_counts_as_its_rate():
    """--resume keeps a plain run whose parameters equal a swept rate's (same config hash): it is that rate."""
    plain = run_row("t", "lora", seed=0, method_params={"lr": 1e-2, "r": 8}, val_accuracy=0.99, accuracy=0.5)
    rows = LORA_SWEEP + [plain]
    assert selection.selected_lrs(rows)[("t", "minilm", "lora")] == 1e-2  # (0.9 + 0.5 + 0.99) / 3 = 0.797 > 0.79
    assert plain in selection.main_rows(rows)


def test_aggregate_summary_and_claims_use_only_the_selected_rate():
    rows = LORA_SWEEP + [run_row("t", "prompt_tuning", accuracy=0.6, accuracy_ci_low=0.57, accuracy_ci_high=0.63)]
    rec = aggregate.group(rows)[("t", "lora")]
    assert rec["n"] == rec["n_ok"] == 2
    assert rec["accuracy"] == pytest.approx(0.75)  # (0.74 + 0.76) / 2, not the mean over all six rows
    assert rec["method_params"]["lr"] == 1e-3
    assert rec["accuracy_ci_low"] == pytest.approx(0.71) and rec["accuracy_ci_high"] == pytest.approx(0.79)
    assert aggregate.by_task(rows)["t"]["lora"]["accuracy"] == pytest.approx(0.75)
    table = summary_table(rows)
    lora_lines = [line for line in table.splitlines() if line.split()[1:2] == ["lora"]]
    assert len(lora_lines) == 1 and "0.750 (0.740..0.760, n=2)" in lora_lines[0]
    c = claims.claim_prompt_tuning(rows)
    assert "prompt tuning 0.600 [0.570, 0.630] vs LoRA 0.750 [0.710, 0.790]" in c.evidence[0]
    text = sweep_table(rows)
    assert text.splitlines()[0].startswith("learning-rate sweep")
    selected = [line for line in text.splitlines() if line.rstrip().endswith("*")]
    assert len(selected) == 1 and " 0.001 " in selected[0] and "0.790" in selected[0]
    assert sweep_table([run_row()]) == ""


# ----------------------------------------------------------------------------- plan and config


def test_plan_expands_each_swept_method_per_rate():
    cfg = apply_overrides(
        SuiteConfig(),
        [
            "device=cpu",
            "tasks=rotten_tomatoes,debates_party",
            "seeds=0,1",
            "methods=lora,prompt_tuning,head_only",
            "lr_sweep.lora=1e-2,1e-4,1e-3",
            "lr_sweep.head_only=1e-2,3e-2",
        ],
    )
    specs = plan(cfg, show_progress=False)
    assert len(specs) == 2 * 2 * (3 + 1 + 2)
    assert len({s.config_hash for s in specs}) == len(specs)  # every rate its own hash: --resume tells them apart
    lora = [s for s in specs if s.method == "lora"]
    assert len(lora) == 2 * 2 * 3
    assert sorted({s.params["lr"] for s in lora}) == [1e-4, 1e-3, 1e-2]
    assert all(s.lr_sweep == (1e-4, 1e-3, 1e-2) and s.base_method == "lora" for s in lora)
    pt = [s for s in specs if s.method == "prompt_tuning"]
    assert all(s.lr_sweep == () and "lr" not in s.params for s in pt)
    # an unswept method keeps its hash; the swept rate equal to the default is the plain run (resume reuses it)
    plain = plan(apply_overrides(cfg, ["lr_sweep.lora=", "lr_sweep.head_only="]), show_progress=False)
    assert {s.config_hash for s in pt} == {s.config_hash for s in plain if s.method == "prompt_tuning"}
    again = plan(apply_overrides(cfg, ["lr_sweep.lora=1e-4,3e-3"]), show_progress=False)
    default_lr = {s.config_hash for s in again if s.method == "lora" and s.params["lr"] == 3e-3}
    assert default_lr == {s.config_hash for s in plain if s.method == "lora"}
    row = base_row(lora[0])
    assert row["lr_sweep"] == [1e-4, 1e-3, 1e-2] and row["method"] == "lora" and row["method_params"]["lr"] == 1e-4
    assert "lr_sweep" not in base_row(pt[0])


def test_sweep_from_yaml_and_variants(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "methods: [lora_r4, full]\nvariants: {lora_r4: {method: lora, r: 4}}\n"
        "lr_sweep: {lora_r4: [3e-3, 1e-3], full: '2e-5,5e-5'}\n"
    )
    cfg = load_suite(str(suite))
    assert cfg.lr_sweep == {"lora_r4": (1e-3, 3e-3), "full": (2e-5, 5e-5)}
    specs = plan(apply_overrides(cfg, ["device=cpu"]), show_progress=False)
    assert [(s.method, s.params) for s in specs] == [
        ("lora_r4", {"r": 4, "lr": 1e-3}),
        ("lora_r4", {"r": 4, "lr": 3e-3}),
        ("full", {"lr": 2e-5}),
        ("full", {"lr": 5e-5}),
    ]


@pytest.mark.parametrize(
    "sets,message",
    [
        (["lr_sweep.lora=x"], r"^lr_sweep.lora: expected a number, got 'x'$"),
        (["lr_sweep.lora=1e-3,-1e-3"], r"^lr_sweep.lora: learning rates must be positive numbers, got -0.001"),
        (["lr_sweep.lora=0"], r"^lr_sweep.lora: learning rates must be positive numbers, got 0.0"),
        (["lr_sweep.lora=nan"], r"^lr_sweep.lora: learning rates must be positive numbers, got nan"),
        (["lr_sweep.lora=inf"], r"^lr_sweep.lora: learning rates must be positive numbers, got inf"),
        (["lr_sweep=1e-3"], r"lr_sweep is set as lr_sweep.<method>=1e-4,3e-4,1e-3"),
        (["lr_sweep.lora.r=1e-3"], r"lr_sweep is set as lr_sweep.<method>="),
    ],
)
def test_config_errors(sets, message):
    with pytest.raises(BenchError, match=message):
        apply_overrides(SuiteConfig(), sets)


@pytest.mark.parametrize(
    "sets,message",
    [
        (
            ["methods=lora", "lr_sweep.full=1e-3"],
            r"^lr_sweep given for method\(s\) not in this suite: full; suite methods: lora$",
        ),
        (
            ["methods=lora", "lr_sweep.lora=1e-3", "params.lora.lr=1e-2"],
            r"^lr_sweep.lora and params.lora.lr both set the learning rate; drop one of them$",
        ),
    ],
)
def test_plan_errors(sets, message):
    with pytest.raises(BenchError, match=message):
        plan(apply_overrides(SuiteConfig(device="cpu"), sets), show_progress=False)


def test_yaml_sweep_errors(tmp_path):
    suite = tmp_path / "s.yaml"
    for text, message in (
        ("lr_sweep: [1e-3]\n", "lr_sweep: expected a mapping of method -> learning rates"),
        ("lr_sweep: {lora: [a]}\n", "lr_sweep.lora: expected a number, got 'a'"),
        ("lr_sweep: {lora: {x: 1}}\n", "lr_sweep.lora: expected a number"),
        ("lr_sweep: {lora: [true]}\n", "lr_sweep.lora: expected a number, got True"),
    ):
        suite.write_text(text)
        with pytest.raises(BenchError, match=message) as e:
            load_suite(str(suite))
        assert "\n" not in str(e.value)


def test_cli_bad_sweep_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(["run", "--methods", "lora", "--set", "lr_sweep.prompt_tuning=1e-2", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: lr_sweep given for method(s) not in this suite: prompt_tuning") and err.count("\n") == 1
    )
    assert not out.exists()
