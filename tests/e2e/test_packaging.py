"""The wheel carries every bench package, the report's template and every shipped task and suite; installed
(unpacked away from the checkout) it finds them with no repository around. Built from a copy of the sources
without build isolation: no network."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bench
from bench import paths
from bench.measure import environment
from bench.rows import baselines

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("bench", "tasks"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", build], cwd=src, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


def test_wheel_holds_every_package_template_task_and_suite(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "bench").rglob("*.py")}
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "bench").rglob("__init__.py")}
    assert {"bench/analysis", "bench/catalog", "bench/cli", "bench/render", "bench/switching"} <= packages
    assert modules - names == set()
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "bench/render/templates").glob("*.j2")}
    assert templates and templates <= names
    assert "bench/render/explorer.js" in names  # the report explorer's script, read at render time
    tasks = sorted((REPO / "tasks").glob("*.yaml"))
    suites = sorted((REPO / "tasks/suites").glob("*.yaml"))
    assert {"rotten_tomatoes.yaml"} <= {p.name for p in tasks} and {"quick.yaml", "smoke.yaml"} <= {
        p.name for p in suites
    }
    shipped = {f"bench/builtin_tasks/{p.relative_to(REPO / 'tasks').as_posix()}": p for p in tasks + suites}
    assert set(shipped) - names == set()
    with zipfile.ZipFile(wheel) as z:
        for name, p in shipped.items():
            assert z.read(name) == p.read_bytes(), name
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(meta_name))
        entry_points = z.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Name"] == "adapter-bench" and meta["Version"] == bench.__version__
    assert "adapter-bench = bench.cli:main" in entry_points


def test_installed_wheel_finds_its_tasks_and_suites_away_from_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs as its unpacked files
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "ADAPTER_BENCH_CACHE": str(tmp_path / "cache")}
    env.pop("GIT_DIR", None)
    probe = (
        "import bench, bench.paths as p; from bench.measure.environment import git_state; "
        "from bench.rows.baselines import baselines_root; "
        "print(bench.__file__, p.source_checkout(), p.builtin_tasks_dir(), git_state()['git_sha'], baselines_root())"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    file, checkout, tasks_dir, sha, root = done.stdout.split()
    assert Path(file).is_relative_to(site) and checkout == "None"
    assert Path(tasks_dir) == site / "bench/builtin_tasks"
    if paths.git_root(work) is None:  # a temporary folder outside any git work tree: no git state, results here
        assert sha == "unknown" and Path(root) == work / "results/baselines"
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "list"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "\n  rotten_tomatoes " in listed.stdout and "\n  quick " in listed.stdout and "\n  smoke " in listed.stdout


def test_a_checkout_reads_its_own_tasks_folder():
    assert paths.source_checkout() == REPO
    assert paths.builtin_tasks_dir() == REPO / "tasks" and paths.builtin_suites_dir() == REPO / "tasks/suites"
    assert baselines.baselines_root() == REPO / "results/baselines"


def test_installed_package_takes_git_state_and_results_from_the_current_work_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "source_checkout", lambda: None)
    monkeypatch.setattr(environment, "source_checkout", lambda: None)
    state = environment.git_state.__wrapped__  # not the per-process cache
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    if paths.git_root(plain) is None:  # outside any work tree: nothing recorded, results in the current folder
        assert state() == {"git_sha": "unknown", "git_dirty": None}
        assert baselines.baselines_root() == plain / "results/baselines"
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "a.txt").write_text("a\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo / "sub")
    assert state() == {"git_sha": sha, "git_dirty": False}
    assert baselines.baselines_root().resolve() == (repo / "results/baselines").resolve()
    assert (
        baselines.baseline_path("cpu-x-2c", "smoke").parent.parent.resolve() == (repo / "results/baselines").resolve()
    )
