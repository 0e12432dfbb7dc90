"""Failures are rows in `switch` and `serve` too: a strategy that raises (or runs out of memory) becomes a
`failed` (or `oom`) row with its error, the other strategies and settings go on, the command ends as `run`
does (exit 0, the rows that are not ok listed), and the report lists them with the failed runs.

The failing strategy is a test-only server put in the strategy registry for one test (monkeypatch), under
the name of a real strategy, so the options accept it."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cli import main
from bench.render.html import context
from bench.switching import strategies


class Raises(strategies.Base):
    """Serves like the base model, but raises `error` on a batch of `rows_from` requests or more."""

    rows_from = 0
    error: Exception = RuntimeError("boom: the strategy broke")

    def forward(self, ids, tasks):
        if ids.shape[0] >= self.rows_from:
            raise self.error
        return super().forward(ids, tasks)


@pytest.fixture()
def failing(monkeypatch):
    """Register a failing server as `hotswap` for one test: failing(rows_from=0, error=...)."""

    def register(rows_from: int = 0, error: Exception | None = None):
        cls = type("Failing", (Raises,), {"rows_from": rows_from, "error": error or Raises.error})
        monkeypatch.setitem(strategies.SERVERS, "hotswap", cls)

    return register


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _switch(model, out, *extra):
    argv = ["switch", "--model", str(model), "--tasks-n", "1,2", "--batch-sizes", "2", "--requests", "4"]
    argv += ["--repeats", "2", "--popularity", "uniform", "--order", "shuffled", "--lengths", "short"]
    return main([*argv, "--device", "cpu", "--no-progress", "--output", str(out), *extra])


def test_a_strategy_that_raises_is_a_failed_switch_row_and_the_sweep_goes_on(failing, tiny_bert_dir, tmp_path, capsys):
    failing()  # raises at its first forward: while it is gated
    out = tmp_path / "switch.jsonl"
    assert _switch(tiny_bert_dir, out, "--strategies", "base,hotswap,set_adapter") == 0
    rows = _rows(out)
    by = {(r["strategy"], r["n_tasks"]): r for r in rows}
    assert len(rows) == 6 and {n for _, n in by} == {1, 2}  # both fleets, every strategy: the sweep went on
    for n in (1, 2):
        bad = by[("hotswap", n)]
        assert bad["status"] == "failed" and bad["error"].startswith("RuntimeError: boom: the strategy broke (at ")
        assert bad["kind"] == "switch" and bad["batch_size"] == 2 and bad["order"] == "shuffled"
        assert by[("base", n)]["status"] == by[("set_adapter", n)]["status"] == "ok"
    printed = capsys.readouterr().out
    assert "6 rows, 4 ok, 2 not ok" in printed and "hotswap: failed (2 rows): RuntimeError: boom" in printed
    listed = context(rows)["failures"]  # the report's failures: with the failed runs
    assert [(f["task"], f["method"], f["status"]) for f in listed] == [("hotswap", "switch", "failed")] * 2


def test_out_of_memory_while_serving_is_an_oom_row(failing, tiny_bert_dir, tmp_path):
    """Past its gates (one task: a batch of one request; it fails them, serving the base model's outputs), the
    strategy runs out of memory on its first batch of 2: an `oom` row; the other strategy's rows are whole."""
    failing(rows_from=2, error=torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    out = tmp_path / "switch.jsonl"
    assert _switch(tiny_bert_dir, out, "--strategies", "base,hotswap", "--tasks-n", "1") == 0
    by = {r["strategy"]: r for r in _rows(out)}
    assert by["hotswap"]["status"] == "oom"
    assert by["hotswap"]["error"] == "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert by["base"]["status"] == "ok" and len(by["base"]["total_ms_samples"]) == 2


def test_a_strategy_that_raises_is_a_failed_serve_row(failing, tiny_shape, tmp_path, capsys):
    failing(rows_from=2)  # past its warm-up call (a batch of 1), inside the profile's timed rounds
    out = tmp_path / "serve.jsonl"
    argv = ["serve", "--model", tiny_shape, "--tasks-n", "2,3", "--max-batch", "4", "--device", "cpu", "--rank", "4"]
    argv += ["--strategies", "base,hotswap,gathered_lora", "--no-validate", "--set", "sim_requests=500"]
    assert main([*argv, "--output", str(out)]) == 0
    rows = _rows(out)
    by = {(r["strategy"], r["n_tasks"]): r for r in rows}
    assert len(rows) == 6
    for n in (2, 3):
        bad = by[("hotswap", n)]
        assert bad["status"] == "failed" and "boom: the strategy broke" in bad["error"]
        assert bad["kind"] == "serve" and bad["rank"] == 4 and bad["slo_rule"].startswith("4 x base")
        assert by[("base", n)]["status"] == by[("gathered_lora", n)]["status"] == "ok"
        assert by[("gathered_lora", n)]["rate_at_slo_rps"] >= 0 and by[("gathered_lora", n)]["service_samples"]
    printed = capsys.readouterr().out
    assert "6 rows, 4 ok, 2 not ok" in printed and "hotswap: failed (2 rows)" in printed
    assert {f["task"] for f in context(rows)["failures"]} == {"hotswap"}


def test_serve_without_its_base_has_no_slo_and_says_so(failing, monkeypatch, tiny_shape, tmp_path):
    """The SLO is a multiple of the base model's batch time: when base fails, every other strategy's row is
    failed too, naming why, rather than rated against no target."""
    monkeypatch.setitem(strategies.SERVERS, "base", Raises)
    out = tmp_path / "serve.jsonl"
    argv = ["serve", "--model", tiny_shape, "--tasks-n", "2", "--max-batch", "2", "--device", "cpu", "--rank", "2"]
    assert main([*argv, "--strategies", "base,gathered_lora", "--no-validate", "--output", str(out)]) == 0
    by = {r["strategy"]: r for r in _rows(out)}
    assert by["base"]["status"] == "failed" and "boom" in by["base"]["error"]
    assert by["gathered_lora"]["status"] == "failed" and by["gathered_lora"]["error"].startswith("no SLO: base")
