"""Serving under load: arrivals, the batching policies, the simulator against M/D/1 queueing
formulas, the rate search, the real-time loop, the `serve` command end to end on a tiny model,
and bad input."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from bench.cli import main
from bench.rows.fields import undeclared
from bench.serving import arrivals
from bench.serving.policy import Policy
from bench.serving.search import highest_rate, rate_at_slo
from bench.serving.simulate import ServiceModel, SimClock, simulate, summarize


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_simulator_matches_md1(rho):
    """Poisson arrivals, one server, constant service D, batch 1: mean wait rho D / (2 (1 - rho)) and
    the chance of not waiting 1 - rho (Pollaczek-Khinchine)."""
    d = 0.010
    s = arrivals.stream(60000, 1, seed=3)
    arr = s.arrivals(rho / d)
    served = simulate(arr, s.tasks, Policy(mixed=True, max_batch=1), ServiceModel({1: {1: d * 1000}}))
    wait = served.finish - arr - d
    expected = rho * d / (2 * (1 - rho))
    assert abs(wait.mean() / expected - 1) < 0.05
    assert abs((d + wait.mean()) / (d + expected) - 1) < 0.05
    assert abs(np.mean(wait < 1e-12) - (1 - rho)) < 0.02


def test_arrival_processes_and_popularity():
    g = arrivals.stream(40000, 8, "gamma", cv=3.0, popularity="zipf", seed=0)
    assert abs(g.unit_gaps.mean() - 1) < 0.05 and abs(g.unit_gaps.std() / g.unit_gaps.mean() - 3) < 0.3
    p = arrivals.stream(40000, 8, "poisson", popularity="uniform", seed=0)
    assert abs(p.unit_gaps.std() - 1) < 0.05
    counts = np.bincount(g.tasks, minlength=8)
    assert counts[0] > 1.8 * counts[1] > 0 and counts[1] > counts[7]  # 1/k shares
    assert np.bincount(p.tasks, minlength=8).min() > 4500
    a2, a4 = g.arrivals(2.0), g.arrivals(4.0)
    assert a2[0] == 0 and np.allclose(a2, 2 * a4)  # common random numbers across rates


def _served(arr, tasks, policy, batch_ms=10.0, swap_ms=5.0):
    return simulate(np.asarray(arr, float), np.asarray(tasks), policy, ServiceModel({1: {1: batch_ms}}, swap_ms))


def test_batching_policies():
    arr, tasks = [0.0, 0.001, 0.002, 0.003], [0, 1, 0, 1]
    mixed = _served(arr, tasks, Policy(mixed=True, max_batch=4))
    assert [b[1] for b in mixed.batches] == [1, 3]  # request 0 alone (nothing else waited), then the rest
    one = _served(arr, tasks, Policy(mixed=False, max_batch=4))
    # 0 alone (swap in task 0), then the oldest waiting is task 1: 1 and 3 together (swap), then 2 (swap back)
    assert [(b[1], b[2]) for b in one.batches] == [(1, True), (2, True), (1, True)]
    assert one.finish[2] > one.finish[3]  # request 2 waited behind task 1's batch
    waited = _served(arr, tasks, Policy(mixed=True, max_batch=4, max_wait_s=0.005))
    assert [b[1] for b in waited.batches] == [4] and waited.batches[0][0] == pytest.approx(0.003)


def test_service_model_interpolates():
    m = ServiceModel({1: {1: 10.0}, 8: {1: 20.0, 8: 40.0}}, swap_ms=3.0)
    assert m.batch_time_ms(1, 1) == 10.0 and m.batch_time_ms(8, 8) == 40.0
    assert m.batch_time_ms(8, 4) == pytest.approx(20 + 20 * 3 / 7)
    assert 10 < m.batch_time_ms(4, 1) < 20
    assert m.capacity_rps(8, 64) == pytest.approx(8 / 0.040)
    clock = SimClock(m, np.array([0, 5, 5, 7]))
    clock.serve([0, 1, 2, 3], None, False)  # 3 distinct adapters in a batch of 4
    assert clock.now() * 1000 == pytest.approx(m.batch_time_ms(4, 3))


def test_highest_rate_bisection():
    assert highest_rate(lambda r: r <= 3.7, start=1.0) == pytest.approx(3.7, rel=1e-3)
    assert highest_rate(lambda r: r <= 0.2, start=1.0) == pytest.approx(0.2, rel=1e-2)
    assert highest_rate(lambda r: False, start=1.0) == 0.0


def test_rate_at_slo_is_below_capacity_and_meets_the_slo():
    s = arrivals.stream(4000, 4, seed=0)
    svc = ServiceModel({1: {1: 10.0}, 4: {1: 16.0, 4: 16.0}})
    r = rate_at_slo(s, Policy(mixed=True, max_batch=4), svc, slo_ms=80.0, n_tasks=4)
    assert 100 < r < svc.capacity_rps(4, 4)
    arr = s.arrivals(r)
    assert summarize(arr, simulate(arr, s.tasks, Policy(True, 4), svc).finish, 80.0).p99_ms <= 80.0
    arr = s.arrivals(r * 1.2)
    assert summarize(arr, simulate(arr, s.tasks, Policy(True, 4), svc).finish, 80.0).p99_ms > 80.0
    one = rate_at_slo(s, Policy(mixed=False, max_batch=4), ServiceModel(svc.batch_ms, swap_ms=20.0), 80.0, 4)
    assert one < r  # swaps cost capacity


def test_default_slo_is_a_multiple_of_the_base_full_batch_time():
    from bench.options import ServeConfig
    from bench.serving.run import slo_ms

    base = ServiceModel({1: {1: 10.0}, 32: {1: 250.0}})
    assert slo_ms(ServeConfig(), base) == 1000.0
    assert slo_ms(ServeConfig(slo_factor=2, max_batch=1), base) == 20.0
    assert slo_ms(ServeConfig(slo_ms=123.0), base) == 123.0


class _Sleeper:
    mixed = True

    def __init__(self, ms):
        self.ms = ms

    def prepare(self):
        pass

    def finish(self):
        pass

    def forward(self, ids, tasks):
        time.sleep(self.ms / 1000)


def test_realtime_loop_serves_on_the_wall_clock():
    import torch

    from bench.serving import realtime

    s = arrivals.stream(20, 2, seed=0)
    arr = s.arrivals(40.0)
    out, log = realtime.run(_Sleeper(5), torch.zeros(20, 3, dtype=torch.long), arr, s.tasks, Policy(True, 4))
    assert sum(x[0] for x in log) == 20 and all(x[2] >= 5 and x[3] == -1 for x in log)
    profiled = ServiceModel({1: {1: 2.5}, 4: {1: 2.5, 2: 2.5}})
    batch_drift, swap_drift = realtime.drift(profiled, log)
    assert batch_drift >= 2 and swap_drift == 1.0  # slept 5 ms where the profile said 2.5; no swaps
    assert realtime.scaled(profiled, 2, 3).batch_time_ms(4, 2) == 5.0
    assert realtime.scaled(ServiceModel({1: {1: 1.0}}, 4.0), 1, 3).swap_ms == 12.0
    latency = out.finish - arr
    assert np.isfinite(latency).all() and latency.min() >= 0.005
    assert sum(b[1] for b in out.batches) == 20
    assert out.finish.max() >= arr.max() + 0.005  # the last request was served after it arrived


def test_serve_cli_on_a_tiny_shape(tiny_shape, tmp_path, capsys):
    out = tmp_path / "serve.jsonl"
    argv = ["serve", "--model", tiny_shape, "--tasks-n", "3", "--max-batch", "4", "--device", "cpu", "--rank", "4"]
    argv += ["--strategies", "base,merge_swap,gathered_lora,mixed_prompt_batch", "--rates", "50", "--slo-ms", "5000"]
    argv += ["--set", "sim_requests=400", "--set", "profile.repeats=1", "--set", "validate=0.5,1.0"]
    assert main([*argv, "--set", "validate_seconds=0.2", "--set", "model.layers=1", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["strategy"] for r in rows] == ["base", "merge_swap", "gathered_lora", "mixed_prompt_batch"]
    base = rows[0]
    assert all(r["kind"] == "serve" and r["weights"] == "random" and r["n_tasks"] == 3 for r in rows)
    assert base["layers"] == 1 and base["targets"] == "attention" and base["serve"]["model"]["name"] == "shape:tiny"
    assert base["slo_ms"] == 5000 and base["slo_rule"] == "given" and base["rate_vs_base"] == 1.0
    for r in rows:
        assert r["rate_at_slo_rps"] > 0 and r["at_slo"]["p99_ms"] <= r["slo_ms"]
        assert set(r["service_ms"]) >= {"1,1", "4,1"} and r["curve"][0]["rate_rps"] == 50
        check, full = r["validation"]
        assert 8 <= check["requests"] <= 48 and check["real"]["requests"] == check["requests"]
        # at 1.0x the rate at the SLO: enough requests for a p99, whose error the row carries beside the p50's
        assert full["fraction"] == 1.0 and full["requests"] == full["real"]["requests"] == 200
        assert (
            r["sim_p99_err_pct"]
            == full["p99_err_pct"]
            == pytest.approx(100 * (full["sim"]["p99_ms"] / full["real"]["p99_ms"] - 1))
        )
        assert r["sim_p50_err_pct"] == full["p50_err_pct"] and r["sim_p99_requests"] == 200
        # the machine while it ran: load at the fleet's start and end, its CPUs, the base model's drift
        assert r["cpus"] >= 1 and r["load_1m_start"] >= 0 and r["load_1m_end"] >= 0
        assert r["base_drift_pct"] is not None and r["base_drift_pct"] >= 0
        assert check["p50_err_pct"] == pytest.approx(100 * (check["sim"]["p50_ms"] / check["real"]["p50_ms"] - 1))
        assert check["service_drift"] > 0 and "p50_err_pct_drift_corrected" in check
        assert sum(b[0] for b in check["real_batches"]) == check["requests"]
    assert rows[1]["swap_ms_p50"] > 0
    assert all(undeclared(r) == [] for r in rows), [undeclared(r) for r in rows]  # as bench/rows/fields.py declares
    # 3 adapters x 1 layer x (q 4x(32+32), k 4x(32+16), v 4x(32+16), o 4x(32+32)) fp32 values
    assert rows[2]["adapter_bytes_resident"] == 3 * 4 * 4 * (64 + 48 + 48 + 64)
    assert "4,3" in rows[2]["service_ms"]  # mixed LoRA profiled with 3 distinct adapters in a batch
    text = capsys.readouterr().out
    assert "req/s@SLO" in text and "gathered_lora" in text and "median |p50 error|" in text
    assert "p99 at the SLO rate" in text and "(200 requests)" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "shape:llama-9"], "unknown shape 'llama-9'; valid shapes: llama-3.1-8b"),
        (["--rates", "0"], "every rate must be more than 0"),
        (["--rates", "2,-1"], "every rate must be more than 0"),
        (["--slo-ms", "0"], "--slo-ms must be more than 0"),
        (["--slo-ms", "-5"], "--slo-ms must be more than 0"),
        (["--set", "slo_factor=0"], "the SLO must be more than 0 ms"),
        (["--strategies", "teleport"], "unknown strategy 'teleport'"),
        (["--popularity", "pareto"], "unknown popularity 'pareto'; valid: uniform, zipf"),
        (["--set", "model.layers=40"], "has only 16 layers"),
        (["--set", "model.colour=red"], "unknown key 'model.colour'"),
        (["--tasks-n", "0"], "at least 1"),
        (["--rank", "x"], "--rank: expected an integer, got 'x'"),  # the flag, not the setting behind it
    ],
)
def test_bad_serve_input_is_one_line(argv, message, capsys):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_switch_sweep_takes_a_shape(tiny_shape, tmp_path):
    out = tmp_path / "switch.jsonl"
    argv = ["switch", "--model", tiny_shape, "--layers", "2", "--tasks-n", "2", "--batch-sizes", "2"]
    argv += ["--strategies", "base,gathered_lora", "--requests", "4", "--repeats", "1", "--popularity", "uniform"]
    argv += ["--order", "shuffled", "--lengths", "short", "--device", "cpu", "--no-progress", "--output", str(out)]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["strategy"] for r in rows} == {"base", "gathered_lora"}
    assert all(r["weights"] == "random" and r["status"] == "ok" and r["sweep"]["layers"] == 2 for r in rows)
    assert all(r["cpus"] >= 1 and r["load_1m_end"] >= 0 and r["base_drift_pct"] >= 0 for r in rows)
