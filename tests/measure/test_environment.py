"""The environment rows record (bench/measure/environment.py): git state."""

from __future__ import annotations


def test_git_dirty_ignores_rows_appended_under_results(tmp_path, monkeypatch):
    """A suite appending rows to a committed results file does not mark its next runs dirty; a code change does."""
    import subprocess

    from bench.measure import environment

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True, capture_output=True
        )

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "rows.jsonl").write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "start")
    monkeypatch.setattr(environment, "source_checkout", lambda: tmp_path)
    state = environment.git_state.__wrapped__  # not the per-process cache
    assert state()["git_dirty"] is False
    (tmp_path / "results" / "rows.jsonl").write_text("{}\n{}\n")
    assert state()["git_dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert state()["git_dirty"] is True
