"""Sweeps end to end on a tiny BERT: a learning-rate sweep and a sweep point run and are reported, and a resume
finds nothing left to run."""

from __future__ import annotations

import json

from bench.cli import main
from tests.e2e.test_cli import FAST


def test_sweep_end_to_end_and_resume(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    args = [
        "run",
        "--model",
        str(tiny_bert_dir),
        "--tasks",
        str(tiny_task),
        "--methods",
        "lora,prompt_tuning",
        "--set",
        "params.prompt_tuning.num_virtual_tokens=4",
        "--set",
        "lr_sweep.lora=1e-3,1e-2",
        "--limit",
        "32",
        "--max-steps",
        "2",
        "--output",
        str(out),
        "--no-isolate",
        *FAST,
    ]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["method"], r["method_params"]["lr"], r.get("lr_sweep")) for r in rows] == [
        ("lora", 1e-3, [1e-3, 1e-2]),
        ("lora", 1e-2, [1e-3, 1e-2]),
        ("prompt_tuning", 3e-2, None),
    ]
    assert all(r["status"] == "ok" and r["val_accuracy"] is not None for r in rows), [r["error"] for r in rows]
    assert len({r["config_hash"] for r in rows}) == 3
    text = capsys.readouterr().out
    assert "learning-rate sweep" in text and "lora vs prompt_tuning, paired" in text
    assert main(args + ["--resume"]) == 0
    assert "resume: 3 of 3 runs already ok" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 3


def test_point_end_to_end_and_resume(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    args = [
        "run",
        "--model",
        str(tiny_bert_dir),
        "--tasks",
        str(tiny_task),
        "--methods",
        "lora",
        "--set",
        "sweep.lora=[{r: 2, alpha: 4}]",
        "--limit",
        "32",
        "--max-steps",
        "2",
        "--output",
        str(out),
        "--no-isolate",
        *FAST,
    ]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["method_params"]["r"], r.get("sweep")) for r in rows] == [
        (8, [{"r": 2, "alpha": 4}]),
        (2, [{"r": 2, "alpha": 4}]),
    ]
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    assert "sweep of the learning rate and other parameters" in capsys.readouterr().out
    assert main(args + ["--resume"]) == 0
    assert "resume: 2 of 2 runs already ok" in capsys.readouterr().out
