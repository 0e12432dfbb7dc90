"""compare for CI: --only-changed, --format markdown|json, and incomparable rows that name their keys."""

from __future__ import annotations

import json

from bench.analysis import compare as cmp
from bench.cli import main
from tests.analysis.test_compare import make_row, write


def test_incomparable_rows_name_the_keys_that_differ():
    budget = {"epochs": 1, "batch_size": 16}
    base = [make_row(seed=1, budget=budget)]
    cur = [make_row(seed=2, budget={**budget, "epochs": 2}, method_params={"r": 16, "lr": 0.003})]
    notes = [v.note for v in cmp.compare(base, cur)]
    assert len(notes) == 2 and all("differs in: method_params.r, budget.epochs" in n for n in notes), notes
    device = cmp.compare(base, [make_row(seed=2, budget=budget, device="cuda")])
    assert all(v.note.endswith("differs in: env.device_kind") for v in device)


def test_only_changed_and_markdown(tmp_path, capsys):
    base = write(tmp_path / "base.jsonl", [make_row(seed=1)])
    slow = write(tmp_path / "slow.jsonl", [make_row(seed=2, slow=1.5)])
    assert main(["compare", str(base), str(slow)]) == 1
    full = capsys.readouterr().out
    assert main(["compare", str(base), str(slow), "--only-changed"]) == 1
    only = capsys.readouterr().out
    assert "| ~ |" in full and "| ~ |" not in only and "| + |" in only
    assert only.strip().splitlines()[-1] == full.strip().splitlines()[-1]  # the counts still cover every verdict


def test_json_for_bots(tmp_path, capsys):
    base = write(tmp_path / "base.jsonl", [make_row(seed=1)])
    slow = write(tmp_path / "slow.jsonl", [make_row(seed=2, slow=1.5)])
    assert main(["compare", str(base), str(slow), "--format", "json", "--advisory", "timing"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 0 and doc["counts"]["worse"] >= 1
    worse = [v for v in doc["verdicts"] if v["mark"] == "+"]
    assert worse and all(v["category"] == "timing" and v["advisory"] and v["regression"] for v in worse)
    assert {"run", "metric", "baseline", "current", "ratio", "p_value", "note"} <= set(worse[0])
