"""The GPU kit's steps, end to end on CPU at a tiny scale: a tiny shape (the `tiny_shape` fixture, from a folder
named by ADAPTER_BENCH_SHAPES), a tiny local model and task for the accuracy part. What a GPU run would write,
file by file, with the N = 1,024 serving fleet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_tiny_task

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_kit_runs_every_step_at_a_tiny_scale(tiny_bert_dir, tiny_shape, tmp_path):
    task = write_tiny_task(tmp_path)
    suite = tmp_path / "kit.yaml"
    suite.write_text(f"model: {tiny_bert_dir}\ntasks: [{task}]\nmethods: [lora, prompt_tuning]\nseeds: [0]\n")
    env = {
        **os.environ,
        "SHAPE": tiny_shape,  # its folder is in ADAPTER_BENCH_SHAPES (the fixture sets it)
        "DTYPE": "fp32",
        "DEVICE": "cpu",
        "SUITE": str(suite),
        "RUN_ARGS": "--limit 16 --no-isolate --set budget.batch_size=16 --set measure.latency_requests=3",
        "SERVE_ARGS": "--set sim_requests=300 --set profile.repeats=1 --rates 50 --no-validate",  # validation: test_serving
        "SWITCH_ARGS": "--requests 24 --repeats 1",
        "BATCH_ARGS": "--rounds 1 --tasks-n 8",
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the kit's `python`: this one
    }
    out = tmp_path / "gpu"
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_kit.sh"), str(out)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [json.loads(x) for x in (out / "gpu.jsonl").read_text().splitlines()]
    assert [r["status"] for r in runs] == ["ok", "ok"]
    switch = [json.loads(x) for x in (out / "switch-8b.jsonl").read_text().splitlines()]
    assert {r["n_tasks"] for r in switch} == {1, 16, 64} and all(r["model"] == "shape:tiny" for r in switch)
    serve = [json.loads(x) for x in (out / "serve-8b.jsonl").read_text().splitlines()]
    assert {r["n_tasks"] for r in serve} == {16, 64, 256, 1024} and all(r["status"] == "ok" for r in serve)
    big = {r["strategy"]: r for r in serve if r["n_tasks"] == 1024}
    assert set(big) == {"base", "gathered_lora", "mixed_prompt_batch"}
    mid = {r["strategy"]: r for r in serve if r["n_tasks"] == 256}
    assert big["gathered_lora"]["adapter_bytes_resident"] == 4 * mid["gathered_lora"]["adapter_bytes_resident"] > 0
    assert "gathered_lora" in (out / "shape_batches-8b.txt").read_text()
