"""The machine's state behind rows (bench/analysis/machine.py): load above the CPUs and a base model whose speed
drifted across a sweep are warned about, naming the rows; steady rows and rows that cannot tell are not."""

from __future__ import annotations

from pathlib import Path

from bench.analysis.machine import MAX_DRIFT_PCT, derived_drift, state_warnings, unrecorded
from bench.rows.store import read_rows

SERVING = Path(__file__).resolve().parents[2] / "results" / "serving"


def run(load_start, load_end, cpus=2, **over) -> dict:
    row = {"kind": "run", "status": "ok", "task": "t", "method": "lora", "created_at": "2026-12-06T10:00:00+00:00"}
    return {**row, "load_1m_start": load_start, "load_1m_end": load_end, "cpus": cpus, **over}


def serve(strategy, n, batch_ms, **over) -> dict:
    row = {"kind": "serve", "status": "ok", "strategy": strategy, "n_tasks": n, "rank": 16, "model": "m"}
    return {**row, "created_at": "2026-12-06T11:00:00+00:00", "batch_ms_full": batch_ms, "max_batch": 32, **over}


def test_load_above_the_cpus_is_warned_about_naming_the_row():
    assert state_warnings([run(1.5, 1.9), run(0.2, 2.0)]) == []  # at most the 2 CPUs: no warning
    # a suite's own threads keep the load at the CPU count on an idle machine (2.04 measured): no warning
    assert state_warnings([run(1.97, 2.04), run(2.3, 2.5)]) == []
    (w,) = state_warnings([run(2.3, 2.6)])  # beyond 1.25x the CPUs: other work shared the machine
    assert "above 1.25x the CPUs" in w and "2.6 on 2 CPUs" in w
    (w,) = state_warnings([run(1.0, 1.0), run(1.2, 3.5, method="full")])
    assert w.startswith("machine load: 1 row(s)") and "run t/full (2026-12-06 10:00)" in w and "3.5" in w
    assert "run t/lora" not in w
    assert state_warnings([run(3.0, 3.0, cpus=4)]) == []  # the row's own CPU count decides


def test_drift_recorded_by_the_rows_beyond_the_threshold_is_warned_about():
    steady = [serve("base", 16, 100.0, base_drift_pct=5.0), serve("gathered_lora", 16, 101.0, base_drift_pct=5.0)]
    assert state_warnings(steady) == []
    drifting = [serve("base", 16, 100.0, base_drift_pct=35.0), serve("gathered_lora", 16, 101.0, base_drift_pct=35.0)]
    (w,) = state_warnings(drifting)
    assert "machine drift: 2 row(s)" in w and "up to 35 %" in w and "recorded" in w
    assert "serve gathered_lora N=16 r=16" in w
    edge = [serve("base", 16, 100.0, base_drift_pct=MAX_DRIFT_PCT)]
    assert state_warnings(edge) == []  # at the threshold, not above
    (w,) = state_warnings([serve("base", 16, 100.0, base_drift_pct=20.4)])
    assert "more than 20 % (up to 20.4 %" in w  # never "more than 20 % (up to 20 %)"


def test_rows_without_the_fields_derive_the_drift_from_the_base_models_own_rows():
    rows = [serve("base", 16, 100.0), serve("base", 256, 125.0), serve("gathered_lora", 256, 126.0)]
    assert list(derived_drift(rows).values()) == [25.0]
    (w,) = state_warnings(rows)
    assert "3 row(s)" in w and "derived" in w
    assert state_warnings([serve("base", 16, 100.0), serve("base", 256, 110.0)]) == []
    # another sweep (another created_at) is not the same sweep
    other = serve("base", 256, 200.0, created_at="2026-12-07T11:00:00+00:00")
    assert state_warnings([serve("base", 16, 100.0), other]) == []
    assert unrecorded(rows) == [
        "machine load unknown: 3 of 3 row(s) record no load average (written before rows recorded it)"
    ]


def test_the_committed_loaded_serve_run_is_warned_about():
    rows = read_rows(SERVING / "serve-cpu-n16-n256.jsonl")
    (w,) = state_warnings(rows)  # the base model's rate moved 1.7x between N = 16 and 256
    assert w.startswith("machine drift: 14 row(s)") and "up to 73 %" in w


def test_compare_and_history_check_print_the_warnings(tmp_path, capsys):
    import json

    from bench.cli import main

    smoke = Path(__file__).resolve().parents[2] / "results" / "baselines" / "cpu-amd-epyc-2c" / "smoke.jsonl"
    rows = read_rows(smoke)
    loaded = tmp_path / "loaded.jsonl"
    loaded.write_text("".join(json.dumps({**r, **LOADED}) + "\n" for r in rows))
    main(["compare", str(smoke), str(loaded)])
    out = capsys.readouterr().out
    assert "warning: machine load: 4 row(s)" in out and "run rotten_tomatoes/lora" in out
    main(["compare", str(smoke), str(smoke)])
    assert "warning" not in capsys.readouterr().out  # old rows: load unknown, nothing to warn about
    store = tmp_path / "store"
    assert main(["history", "add", str(loaded), "--store", str(store)]) == 0
    main(["history", "check", "--store", str(store)])
    assert "warning: machine load: 4 row(s)" in capsys.readouterr().out


LOADED = {"load_1m_start": 6.5, "load_1m_end": 7.0, "cpus": 2, "cpu_mhz": 2450.0}
