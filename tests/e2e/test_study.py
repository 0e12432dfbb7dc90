"""A whole study in one suite file: `run` trains, then runs the suite's `switch:` and `serve:` sections on
the same model, writing every row to the same results and one report of them all."""

from __future__ import annotations

import json

from bench.cli import main


def test_one_file_trains_switches_and_serves(tiny_bert_dir, tiny_task, tmp_path, capsys):
    suite = tmp_path / "study.yaml"
    suite.write_text(
        f"model: {tiny_bert_dir}\ntasks: [{tiny_task}]\nmethods: [lora]\ndevice: cpu\nisolate: false\n"
        "budget: {batch_size: 16, max_steps: 2, train_examples: 16, eval_examples: 16}\n"
        "measure: {latency_requests: 3, infer_repeats: 2, bootstrap_samples: 100, validation_examples: 16}\n"
        "switch: {tasks_n: [2], batch_sizes: [2], popularities: [uniform], orders: [shuffled], lengths: [short],\n"
        "         strategies: [base, gathered_lora], requests: 4, repeats: 1}\n"
        "serve: {tasks_n: [2], ranks: [2], strategies: [base, gathered_lora], max_batch: 2, validate: [],\n"
        "        sim_requests: 200, profile: {repeats: 1}}\n"
    )
    out = tmp_path / "rows.jsonl"
    assert main(["run", "--suite", str(suite), "--output", str(out), "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [r["kind"] for r in rows]
    assert kinds == ["run", "switch", "switch", "serve", "serve"], kinds
    assert all(r["status"] == "ok" for r in rows), [(r["kind"], r.get("error")) for r in rows]
    assert {r["model"] for r in rows} == {str(tiny_bert_dir)}  # the suite's model, every section
    assert rows[1]["sweep"]["requests"] == 4 and rows[1]["trained_adapters_from"]  # the run's adapter serves
    assert rows[3]["serve"]["tasks_n"] == [2] and rows[3]["targets"] == "peft default"
    printed = capsys.readouterr().out
    assert "2 switch rows, 2 ok, 0 not ok" in printed and "2 serve rows, 2 ok, 0 not ok" in printed
    assert out.with_suffix(".html").is_file()
