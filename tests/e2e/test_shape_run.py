"""A real shape through the whole command line: `bench run --model shape:qwen2.5-0.5b --set model.layers=1` in a child
process (random weights, nothing downloaded, no tokenizer), then --resume finds its row by its config hash (layers
included), and `bench report` renders the rows beside a pretrained model's."""

from __future__ import annotations

import json

from bench.cli import main
from bench.rows.fields import undeclared

FAST = [
    "--max-steps",
    "2",
    "--set",
    "budget.batch_size=2",
    "--set",
    "budget.max_length=8",
    "--set",
    "measure.train_warmup_steps=1",
    "--set",
    "measure.latency_requests=2",
    "--set",
    "measure.latency_warmup=1",
    "--set",
    "measure.infer_repeats=1",
    "--set",
    "measure.infer_warmup=0",
    "--set",
    "measure.infer_batch_size=2",
    "--set",
    "switch=",
    "--no-progress",
    "--no-adapters",
]


def test_a_real_shape_in_a_child_process_resumes_and_reports(tiny_task, tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    args = ["run", "--model", "shape:qwen2.5-0.5b", "--tasks", str(tiny_task), "--methods", "lora", *FAST]
    assert main([*args, "--set", "model.layers=1", "--output", str(out)]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["status"] == "ok", row["error"]
    assert (row["weights"], row["layers"], row["dtype"], row["model"]) == ("random", 1, "fp32", "shape:qwen2.5-0.5b")
    assert row["total_params"] > 136e6  # Qwen2.5-0.5B's 151,936 x 896 embedding, one layer
    assert row["train_tokens_per_s"] > 0 and row["peak_mem_bytes"] > row["mem_baseline_bytes"] > 0
    assert "accuracy" not in row and undeclared(row) == []

    capsys.readouterr()
    assert main([*args, "--set", "model.layers=1", "--output", str(out), "--resume"]) == 0
    assert "resume: 1 of 1 runs already ok" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 1

    pretrained = ["run", "--model", str(tiny_bert_dir), "--tasks", str(tiny_task), "--methods", "lora", *FAST]
    assert main([*pretrained, "--output", str(out), "--no-isolate"]) == 0
    assert main(["report", str(out), "-o", str(tmp_path / "report.html")]) == 0
    html = (tmp_path / "report.html").read_text()
    speed = html[html.index('<section id="speed">') :]
    assert "shape:qwen2.5-0.5b, 1 layer, fp32" in speed
    table = html[html.index('<section id="table">') : html.index('<section id="speed">')]
    assert table.count('data-method="lora"') == 1  # the pretrained model's run alone has an accuracy
