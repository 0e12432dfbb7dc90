"""`python -m bench decide`: each exit code, one-line errors, the constraints' parsing."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from tests.serving.test_deploy import rows, serve_row


def write(path, rs):
    path.write_text("".join(json.dumps(r) + "\n" for r in rs))
    return str(path)


@pytest.fixture
def results(tmp_path):
    return write(tmp_path / "r.jsonl", rows())


def test_a_recommendation_exits_0_with_the_table_and_the_paired_test(results, capsys):
    assert main(["decide", results, "--tasks-n", "16", "--rate", "10", "--memory", "2GB"]) == 0
    out = capsys.readouterr().out
    assert "recommended: lora + gathered_lora" in out and "runner-up:   prompt_tuning + mixed_prompt_batch" in out
    assert "exact McNemar over 400 paired test examples" in out and "rate ratio 1.11x" in out
    assert "missing evidence for full + model_copies: no run of full: python -m bench run" in out


def test_nothing_meets_the_constraints_exits_1_naming_the_closest(results, capsys):
    assert main(["decide", results, "--tasks-n", "16", "--rate", "1000"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("no pair meets the constraints; closest: zero_shot + base")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks-n", "256", "--rate", "10"], "largest served N: 64"),
        (["--tasks-n", "16", "--rate", "10", "--memory", "two"], "--memory: expected a size in bytes"),
        (["--tasks-n", "16", "--rate", "ten"], "--rate"),
        (["--tasks-n", "16", "--rate", "-1"], "--rate must be more than 0"),
        (["--tasks-n", "16", "--rate", "10", "--min-accuracy", "1.5"], "--min-accuracy must be between 0 and 1"),
        (["--tasks-n", "16", "--rate", "10", "--slo-ms", "0"], "--slo-ms must be more than 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(results, capsys, args, message):
    assert main(["decide", results, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_runs_of_one_model_with_serve_rows_of_another_exit_2_naming_both(tmp_path, capsys):
    runs = write(tmp_path / "runs.jsonl", rows(served={}))
    serve = write(tmp_path / "serve.jsonl", [serve_row("base", 16, 30.0, model="minilm")])
    assert main(["decide", runs, serve, "--tasks-n", "16", "--rate", "1"]) == 2
    err = capsys.readouterr().err
    assert "run rows of smollm2-135m with serve rows of minilm" in err and len(err.strip().splitlines()) == 1


def test_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["decide", str(tmp_path / "none.jsonl"), "--tasks-n", "16", "--rate", "1"]) == 2
    assert "no such results file" in capsys.readouterr().err


def test_runs_left_out_and_full_fine_tuning_s_assumption_are_printed(tmp_path, capsys):
    from tests.serving.test_deploy import ROSE, answers, run_row

    rs = [dict(r, loss_curve=ROSE) if r.get("method") == "lora" else r for r in rows()]
    path = write(tmp_path / "r.jsonl", rs + [run_row("full", answers(345))])
    assert main(["decide", path, "--tasks-n", "16", "--rate", "10"]) == 0
    out = capsys.readouterr().out
    assert "left out: lora seed 0 (run-lora): flagged by the health checks: training loss rose" in out
    assert "missing evidence for lora + merge_swap: no healthy run of lora" in out
    assert "assumed for full + model_copies: no serve row serves 16 model copies" in out


def test_an_unserved_n_exits_1_with_the_serve_command(results, capsys):
    assert main(["decide", results, "--tasks-n", "32", "--rate", "1"]) == 1
    out = capsys.readouterr().out
    assert "missing evidence for lora + gathered_lora: no serve row of gathered_lora at N = 32: " in out
    assert "python -m bench serve --model smollm2-135m --tasks-n 32 --strategies gathered_lora" in out
    assert (
        out.strip().splitlines()[-1]
        == "no pair meets the constraints; no pair has the evidence to judge: see the missing rows"
    )


def test_the_most_accurate_run_reads_best(results, capsys):
    assert main(["decide", results, "--tasks-n", "16", "--rate", "1"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("lora + hotswap "))
    assert "  best  " in line
