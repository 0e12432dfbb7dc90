"""Hostile inputs, second round, for the stores and the inputs behind them: the history store is as safe as the
run store (one add at a time, a cut tail repaired, an order no clock can hijack)."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from tests.history.test_history import SHAS, commit_rows

ROOT = Path(__file__).resolve().parents[2]


def add(tmp_path: Path, rows: list[dict], name: str) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return main(["history", "add", str(path), "--store", str(tmp_path / "store")])


def stored(store: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(store.rglob("*.jsonl")) for line in p.read_text().splitlines() if line]


# ----------------------------------------------------------------------------- 4: the history store


def test_simultaneous_adds_of_one_file_file_each_row_once(tmp_path):
    rows = [{**r, "run_id": f"r{i}-{r['run_id']}"} for i in range(50) for r in commit_rows(1)]  # 200 rows
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = [sys.executable, "-m", "bench", "history", "add", str(src), "--store", str(tmp_path / "store")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "abc"
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and b"Traceback" not in err, err
    got = stored(tmp_path / "store")
    assert len(got) == 200 and len({r["run_id"] for r in got}) == 200


def test_a_cut_tail_is_repaired_before_the_next_add(tmp_path, capsys):
    assert add(tmp_path, commit_rows(1), "c1") == 0
    (path,) = (tmp_path / "store").rglob("*.jsonl")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the last row cut mid-write
    assert add(tmp_path, commit_rows(1, rerun=1), "c1-rerun") == 0
    assert add(tmp_path, commit_rows(2), "c2") == 0
    capsys.readouterr()
    assert main(["history", "check", "--store", str(tmp_path / "store")]) == 0
    assert main(["history", "report", "--store", str(tmp_path / "store"), "-o", str(tmp_path / "h.html")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert len(stored(tmp_path / "store")) == 3 + 4 + 4  # the cut row gone, every later row whole


def test_a_future_clock_does_not_make_the_newest_commit(tmp_path, capsys):
    for n in (1, 2, 3):
        assert add(tmp_path, commit_rows(n), f"c{n}") == 0
    future = [{**r, "created_at": "2099-01-01T00:00:00+00:00"} for r in commit_rows(5, slow_from=99)]
    assert add(tmp_path, future, "c5-future") == 0
    assert add(tmp_path, commit_rows(4), "c4-slow") == 0  # what CI just ran: LoRA 1.5x slower
    capsys.readouterr()
    assert main(["history", "check", "--store", str(tmp_path / "store")]) == 1
    out = capsys.readouterr().out
    assert f"commit {SHAS[3][:12]} (the last added" in out and "REGRESSION" in out, out


# ----------------------------------------------------------------------------- 3: index credentials stay secret


@pytest.fixture
def index_server():
    """An index on 127.0.0.1 whose /links/ redirects to localhost (another host), /broken/ answers 500 and
    /endless.whl streams bytes without end; it records the Authorization header each host received."""
    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append((self.headers.get("Host", "").split(":")[0], self.headers.get("Authorization")))
            port = self.server.server_address[1]
            if self.path == "/links/":
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/other/")
                self.end_headers()
            elif self.path == "/other/":
                body = b'<a href="pkg-1.0-py3-none-any.whl">pkg</a>'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/endless.whl":
                self.send_response(200)
                self.end_headers()
                with contextlib.suppress(OSError):
                    while True:
                        self.wfile.write(b"\0" * 65536)
            else:
                self.send_error(500)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://user:TOKEN@127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_credentials_go_to_their_host_only_and_are_masked(index_server, monkeypatch):
    from bench.catalog import index

    base, seen = index_server
    monkeypatch.setattr(index, "_pip_config", dict)
    cfg = index.settings(f"--no-index --find-links {base}/links/")
    assert [name for name, _ in index.candidates("pkg", cfg)] == ["pkg-1.0-py3-none-any.whl"]
    assert seen[0] == ("127.0.0.1", "Basic " + base64.b64encode(b"user:TOKEN").decode())
    assert seen[1] == ("localhost", None)  # the redirect to another host got no credentials
    assert "TOKEN" not in cfg.where() and "user:****@127.0.0.1" in cfg.where()
    for call in (lambda: index.candidates("pkg", index.settings(f"--index-url {base}/broken/")),):
        with pytest.raises(BenchError) as e:
            call()
        assert "TOKEN" not in str(e.value) and "user:****@" in str(e.value)


def test_a_download_stops_at_the_pinned_size(index_server, tmp_path, monkeypatch):
    from bench.catalog import index

    base, _ = index_server
    done: list = []

    def fetch():
        with pytest.raises(BenchError) as e:
            index.download(f"{base}/endless.whl", tmp_path / "a.whl", max_bytes=2_500_000)
        done.append(str(e.value))

    t = threading.Thread(target=fetch, daemon=True)
    t.start()
    t.join(timeout=30)
    assert done and "pinned archive" in done[0] and "TOKEN" not in done[0]
    assert (tmp_path / "a.whl").stat().st_size <= 2_500_000


# ----------------------------------------------------------------------------- 8: small inputs, bounded cost


def bomb(levels: int = 9) -> str:
    """A YAML flow list of nine-fold aliases: under 300 bytes, 9**levels strings once expanded."""
    names = "abcdefghijklmnop"
    items = ["&a [" + ", ".join(["lol"] * 9) + "]"]
    items += [f"&{names[i]} [" + ", ".join(["*" + names[i - 1]] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


def one_line_exit_2(argv, capsys, limit: int = 1000) -> str:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err) < limit and len(err.strip().splitlines()) == 1, err[:2000]
    return err


@pytest.mark.parametrize("where", ["task", "suite"])
def test_an_alias_bomb_in_a_file_is_one_line(where, tiny_bert_dir, tiny_task, tmp_path, capsys):
    path = tmp_path / f"{where}.yaml"
    if where == "task":  # in a filter's allowed values, which the task's digest hashes
        path.write_text(tiny_task.read_text().replace("dedupe: false}", f"dedupe: false, filter: {{y: {bomb()}}}}}"))
        shutil.copy(tiny_task.with_suffix(".csv"), tmp_path)
        argv = ["run", "--tasks", path, "--model", tiny_bert_dir, "--methods", "head_only"]
    else:
        path.write_text(f"methods: [head_only]\nseeds: {bomb()}\n")
        argv = ["run", "--suite", path, "--model", tiny_bert_dir, "--tasks", tiny_task]
    assert len(path.read_text()) < 900
    err = one_line_exit_2([*argv, "--output", tmp_path / "rows.jsonl"], capsys)
    assert "aliases are expanded" in err
    assert not (tmp_path / "rows.jsonl").exists()


@pytest.mark.parametrize(
    "value",
    ["[{r: " + bomb(7) + "}]", "[" * 10_000 + "]" * 10_000, "[" * 3000 + "]" * 3000, "[{r: " + "9" * 5000 + "}]"],
    ids=["alias-bomb", "10000-brackets", "3000-brackets", "huge-int"],
)
def test_set_values_are_bounded(value, tiny_bert_dir, tiny_task, tmp_path, capsys):
    argv = ["run", "--methods", "lora", "--model", tiny_bert_dir, "--tasks", tiny_task, "--set", f"sweep.lora={value}"]
    one_line_exit_2([*argv, "--output", tmp_path / "rows.jsonl"], capsys)


def test_a_gzip_bomb_source_is_one_line(tiny_bert_dir, tiny_task, tmp_path, capsys, monkeypatch):
    import gzip

    from bench.catalog import sources

    monkeypatch.setattr(sources, "MAX_EXPANDED", 1 << 20)
    data = tiny_task.parent / "bomb.csv.gz"
    data.write_bytes(gzip.compress(b"sentence,y\n" + b"a,pos\n" * 400_000))  # 2.4 MB from a few kB
    task = tiny_task.parent / "bomb.yaml"
    text = tiny_task.read_text().replace("name: tiny_sentiment", "name: bomb")
    task.write_text(text.replace("tiny_sentiment.csv", data.name).replace("size: 240", "size: 400000"))
    argv = ["run", "--tasks", task, "--model", tiny_bert_dir, "--methods", "head_only"]
    err = one_line_exit_2([*argv, "--output", tmp_path / "r.jsonl"], capsys)
    assert "expands to more than" in err


def test_in_a_git_checkout_commit_order_is_the_commit_graphs(tmp_path, capsys):
    from bench.history import store

    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    shas = []
    for i in range(3):
        (tmp_path / "f").write_text(str(i))
        git("add", "f")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"c{i}")
        shas.append(git("rev-parse", "HEAD"))
    for n, sha in reversed(list(enumerate(shas, 1))):  # added newest first, each stamped earlier than the last
        rows = [{**r, "git_sha": sha, "created_at": f"2026-01-0{4 - n}T00:00:00+00:00"} for r in commit_rows(n)]
        assert add(tmp_path, rows, f"c{n}") == 0
    ((mc, suite), rows), *_ = store.groups(tmp_path / "store").items()
    assert [c.key for c in store.commits(rows)] == shas
