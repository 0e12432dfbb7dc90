"""history check judges with compare's rules: per-example answers by the paired test against the segment's
newest answers, and each finding names its test and the smallest change it could flag."""

from __future__ import annotations

import json
import random

from bench.cli import main
from tests.history.test_history import commit_rows


def answers(n: int, right: int) -> str:
    v = ["1"] * right + ["0"] * (n - right)
    random.Random(0).shuffle(v)
    return "".join(v)


def with_answers(rows: list[dict], lost: int = 0) -> list[dict]:
    """Every row with the same 200 answers (124 right); `lost` of LoRA's right answers turned wrong."""
    out = []
    for r in rows:
        v = list(answers(200, 124))
        if r["method"] == "lora" and lost:
            for i in [i for i, a in enumerate(v) if a == "1"][:lost]:
                v[i] = "0"
        v = "".join(v)
        a = v.count("1") / 200
        out.append({**r, "test_correct": v, "accuracy": a, "score": a, "accuracy_ci_low": a - 0.06})
    return out


def test_check_flags_a_drop_inside_the_interval_by_the_paired_test(tmp_path, capsys):
    store = tmp_path / "store"
    for n in (1, 2, 3, 4):
        rows = with_answers(commit_rows(n, slow_from=99), lost=10 if n == 4 else 0)  # 5 points: inside +-6
        path = tmp_path / f"c{n}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert main(["history", "add", str(path), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["history", "check", "--store", str(store)]) == 1
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if "REGRESSION" in x]
    assert len(lines) == 1 and "accuracy of rotten_tomatoes / lora" in lines[0], out
    assert "exact McNemar" in lines[0] and "10 right->wrong, 0 wrong->right of 200" in lines[0]
    assert "can flag -3.5 pts" in lines[0]
    assert "0 timings judged by factor alone" in out
    # at a stricter level the same drop (p = 0.5^10, about 1e-3) passes: --alpha reaches the paired test
    assert main(["history", "check", "--store", str(store), "--alpha", "0.0000001"]) == 0


def test_check_as_json_gives_every_verdict_its_test_and_power(tmp_path, capsys):
    store = tmp_path / "store"
    for n in (1, 2, 3):
        path = tmp_path / f"c{n}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in with_answers(commit_rows(n))))
        assert main(["history", "add", str(path), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["history", "check", "--store", str(store), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    findings = doc["groups"][0]["findings"]
    assert doc["exit_code"] == 0 and len(findings) == 4 * 6  # 4 runs x 6 metrics (score is accuracy here)
    assert all(f["test"] and f["detectable"] for f in findings)
    acc = [f for f in findings if f["metric"] == "accuracy"]
    assert {f["test"] for f in acc} == {"exact McNemar"} and {f["min_change"] for f in acc} == {3.5}


def test_a_timing_is_held_against_its_segments_median_not_the_newest_answers_row():
    from bench.history import detect

    rows = [r for n in (1, 2, 3) for r in with_answers(commit_rows(n))]
    series = next(s for s in detect.build_series(rows, "m", "smoke") if s.metric == "train_step_ms_p50")
    values = sorted(p.value for p in series.points)
    assert detect._summary_row(series.points, "train_step_ms_p50")["train_step_ms_p50"] == values[1]
