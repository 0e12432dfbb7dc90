"""History across commits: six synthetic commits of smoke-like rows, LoRA's training step 1.5x slower
(its raw samples too) from commit 4 on."""

from __future__ import annotations

import json
import random
import re
import statistics
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.history import detect, store

METHODS = {  # method -> (trainable params, adapter bytes, accuracy, step ms, latency ms)
    "lora": (147_456, 600_000, 0.62, 190.0, 40.0),
    "prompt_tuning": (15_360, 62_000, 0.55, 340.0, 48.0),
    "head_only": (770, 4_000, 0.58, 108.0, 38.0),
    "full": (22_700_000, 90_000_000, 0.64, 340.0, 39.0),
}
SHAS = [f"{i}{'abcdef0123456789'[i] * 7}" + "0" * 32 for i in range(1, 7)]  # 40 characters, distinct prefixes


def commit_rows(n: int, rerun: int = 0, slow_from: int = 4) -> list[dict]:
    """Smoke-like rows of commit n (1-based); `rerun` > 0 writes them again later (new run ids, times)."""
    rng = random.Random(n * 100 + rerun)
    rows = []
    for i, (method, (params, size, acc, step, lat)) in enumerate(METHODS.items()):
        slow = 1.5 if method == "lora" and n >= slow_from else 1.0
        steps = [step * slow * rng.uniform(0.96, 1.04) for _ in range(9)]
        lats = [lat * rng.uniform(0.95, 1.05) for _ in range(12)]
        a = acc + rng.uniform(-0.005, 0.005)
        rows.append(
            {
                "schema_version": 1,
                "kind": "run",
                "run_id": f"c{n}r{rerun}m{i}",
                "created_at": f"2026-01-{n + 10 * rerun:02d}T10:00:{i:02d}+00:00",
                "git_sha": SHAS[n - 1],
                "git_dirty": False,
                "machine_class": "cpu-test-2c",
                "suite": "smoke",
                "task": "rotten_tomatoes",
                "task_version": 1,
                "model": "minilm",
                "method": method,
                "method_params": {"lr": 1e-3},
                "seed": 0,
                "budget": {"epochs": 1, "max_steps": 12, "batch_size": 16},
                "status": "ok",
                "env": {"device_kind": "cpu"},
                "trainable_params": params,
                "adapter_bytes": size,
                "accuracy": a,
                "accuracy_ci_low": a - 0.03,
                "accuracy_ci_high": a + 0.03,
                "metric": "accuracy",
                "score": a,
                "train_step_ms_p50": statistics.median(steps),
                "train_step_ms_samples": steps,
                "infer_latency_ms_p50": statistics.median(lats),
                "infer_latency_ms_samples": lats,
                "peak_mem_bytes": 400_000_000 + params,
            }
        )
    return rows


def add(tmp_path: Path, rows: list[dict], name: str) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return main(["history", "add", str(path), "--store", str(tmp_path / "store")])


def test_check_names_the_commit_that_slowed_lora_then_passes_a_rerun_of_an_older_commit(tmp_path, capsys):
    for n in (1, 2, 3):
        assert add(tmp_path, commit_rows(n), f"c{n}") == 0
    capsys.readouterr()
    assert main(["history", "check", "--store", str(tmp_path / "store")]) == 0  # commit 3: nothing moved
    assert "0 regressions" in capsys.readouterr().out

    assert add(tmp_path, commit_rows(4), "c4") == 0
    capsys.readouterr()
    assert main(["history", "check", "--store", str(tmp_path / "store")]) == 1
    out = capsys.readouterr().out
    regressions = [line for line in out.splitlines() if "REGRESSION" in line]
    assert len(regressions) == 1, out  # LoRA's step time only: the other methods and metrics held
    line = regressions[0]
    assert "train_step_ms_p50" in line and "rotten_tomatoes / lora" in line
    assert f"at commit {SHAS[3][:8]}" in line and f"commits {SHAS[0][:8]}..{SHAS[2][:8]}" in line
    ratio = float(re.search(r"([\d.]+)x slower", line).group(1))
    assert 1.35 < ratio < 1.65

    assert add(tmp_path, commit_rows(3, rerun=1), "c3-rerun") == 0  # CI reruns commit 3: the newest rows
    capsys.readouterr()
    assert main(["history", "check", "--store", str(tmp_path / "store")]) == 0
    out = capsys.readouterr().out
    assert f"commit {SHAS[2][:12]}" in out and "REGRESSION" not in out
    # the step is still there when commit 4 is named
    assert main(["history", "check", "--store", str(tmp_path / "store"), "--commit", SHAS[3][:7]]) == 1


def test_add_is_idempotent_and_files_by_machine_class_suite_and_sha(tmp_path, capsys):
    rows = commit_rows(1)
    assert add(tmp_path, rows, "a") == 0
    assert add(tmp_path, rows, "a") == 0
    assert "0 rows added, 4 already there" in capsys.readouterr().out
    files = list((tmp_path / "store").rglob("*.jsonl"))
    assert [f.relative_to(tmp_path / "store").as_posix() for f in files] == [f"cpu-test-2c/smoke/{SHAS[0]}.jsonl"]
    assert len(files[0].read_text().splitlines()) == 4


def test_rows_without_a_sha_are_bad_input(tmp_path, capsys):
    rows = [dict(r, git_sha=None) for r in commit_rows(1)]
    assert add(tmp_path, rows, "nosha") == 2
    assert "no git sha" in capsys.readouterr().err
    assert main(["history", "check", "--store", str(tmp_path / "missing")]) == 2


def test_rows_whose_sha_is_unknown_are_refused_whole(tmp_path, capsys):
    """An installed bench run outside a git checkout records git_sha "unknown": such rows would pool every
    installed run into one made-up commit, so add refuses the lot, in one line saying how to record a sha."""
    rows = commit_rows(1) + [dict(r, git_sha="unknown") for r in commit_rows(2)]
    assert add(tmp_path, rows, "unknown") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "4 of 8 rows have no git sha" in err and "nothing added" in err and "git checkout" in err
    assert not (tmp_path / "store").exists()  # the rows that had a sha were not filed either


def test_report_marks_the_step_at_commit_4(tmp_path):
    for n in range(1, 7):
        add(tmp_path, commit_rows(n), f"c{n}")
    out = tmp_path / "history.html"
    assert main(["history", "report", "--store", str(tmp_path / "store"), "-o", str(out)]) == 0
    text = out.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "")  # self-contained
    step_rows = re.findall(r'<tr class="(worse|better)">(.*?)</tr>', text)
    assert len(step_rows) == 1, step_rows
    assert step_rows[0][0] == "worse" and "train_step_ms_p50" in step_rows[0][1] and SHAS[3] in step_rows[0][1]
    figure = re.search(r'<figure data-metric="train_step_ms_p50">(.*?)</figure>', text, re.S).group(1)
    assert f"step at {SHAS[3][:8]}" in figure
    other = re.search(r'<figure data-metric="infer_latency_ms_p50">(.*?)</figure>', text, re.S).group(1)
    assert "step at" not in other


def test_change_points_find_one_step_and_ignore_noise():
    rng = random.Random(0)
    flat = [100 * rng.uniform(0.97, 1.03) for _ in range(12)]
    assert detect.change_points(flat) == []
    assert detect.change_points(flat[:6] + [v * 1.4 for v in flat[6:]]) == [6]
    assert detect.change_points([1.0, 1.0, 1.0]) == []  # too short for two segments


def test_commit_order_is_first_seen_and_a_rerun_keeps_its_place():
    rows = commit_rows(1) + commit_rows(2) + commit_rows(1, rerun=1)
    assert [c.key for c in store.commits(rows)] == [SHAS[0], SHAS[1]]
    assert store.newest_commit(rows) == SHAS[0]
    with pytest.raises(BenchError, match="no such commit"):
        store.find_commit(rows, "ffff")
