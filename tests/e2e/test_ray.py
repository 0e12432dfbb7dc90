"""`--executor ray`: the same suite on a local Ray of 2 workers gives the same rows as the local
executor (timings aside); without Ray installed, a one-line error and exit 2."""

from __future__ import annotations

import builtins
import importlib.util
import json

import pytest

from bench.cli import main
from bench.rows.store import read_rows
from tests.e2e.test_cli import FAST

HAS_RAY = importlib.util.find_spec("ray") is not None
SAME = ("task", "method", "seed", "status", "trainable_params", "accuracy", "config_hash")


def test_ray_missing_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    out = tmp_path / "rows.jsonl"
    assert main(["run", "--executor", "ray", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --executor ray needs Ray") and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_ray_address_needs_ray_executor(tmp_path, capsys):
    assert main(["run", "--ray-address", "auto", "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install '.[ray]')")
def test_ray_executor_gives_the_same_rows_as_local(tiny_bert_dir, tiny_task, tmp_path):
    import ray

    args = [
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "head_only,lora",
        "--seeds",
        "0,1",
        "--limit",
        "32",
        *FAST,
    ]
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert main([str(a) for a in args + ["--output", local, "--no-isolate"]]) == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local Ray of 2 workers
    try:
        assert main([str(a) for a in args + ["--output", on_ray, "--executor", "ray"]]) == 0
    finally:
        ray.shutdown()
    a = sorted(json.dumps([r[k] for k in SAME]) for r in read_rows(local))
    b = sorted(json.dumps([r[k] for k in SAME]) for r in read_rows(on_ray))
    assert len(a) == 4 and a == b
    assert all(r["status"] == "ok" for r in read_rows(on_ray))
