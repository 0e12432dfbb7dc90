"""How long the commands that do not train take to answer: every command's `--help`, `list`, `env`, and one
input each command refuses (one line, exit 2).

Each command runs in a fresh process (`python -m bench ...`, interpreter start included), from an empty
temporary folder, as a user would type it: first once untimed under `-X importtime` (which also warms the file
cache) to see whether it imported torch, then --repeat times. The table gives the median wall time and the
median CPU time of the child (user + system, less sensitive to other work on the machine), the exit code and
whether torch was imported; `python -c pass` is the floor (the interpreter alone). The load average is printed
at the start and at the end: compare numbers only from an idle machine.

    python benchmarks/fast_commands.py [--repeat 5] [--only TEXT]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "pandas", "matplotlib", "scipy")

COMMANDS = [  # (what is timed, its arguments after `python -m bench`)
    ("--help", ["--help"]),
    *[(f"{c} --help", [*c.split(), "--help"]) for c in ("run", "switch", "serve", "list", "env", "decide")],
    *[(f"{c} --help", [*c.split(), "--help"]) for c in ("report", "compare", "baseline save", "history add")],
    *[(f"{c} --help", [*c.split(), "--help"]) for c in ("export", "assets bundle")],
    ("list", ["list"]),
    ("env", ["env"]),
    ("run --tasks rotten_tomatos", ["run", "--tasks", "rotten_tomatos"]),
    ("run --device cuda", ["run", "--device", "cuda"]),
    ("switch --tasks-n abc", ["switch", "--tasks-n", "abc"]),
    ("serve --strategies bogus", ["serve", "--strategies", "bogus"]),
    ("decide a.jsonl --tasks-n 0", ["decide", "a.jsonl", "--tasks-n", "0", "--rate", "1"]),
    ("report --pair lora", ["report", "--pair", "lora"]),
    ("compare a.jsonl b.jsonl", ["compare", "a.jsonl", "b.jsonl"]),
    ("baseline save a.jsonl", ["baseline", "save", "a.jsonl"]),
    ("history check --penalty -1", ["history", "check", "--store", "s", "--penalty", "-1"]),
    ("export a.jsonl", ["export", "a.jsonl"]),
    ("assets bundle d --suite nope", ["assets", "bundle", "d", "--suite", "nope"]),
]


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _run(cmd: list[str], cwd: str, env: dict) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the child, exit code, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, proc.stderr


def heavy_imports(stderr: str) -> list[str]:
    """The HEAVY packages a `-X importtime` run imported (its lines end with the module's indented name)."""
    names = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per command (default 5; the median is shown)")
    ap.add_argument("--only", default="", help="only the commands whose text contains this")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    chosen = [(name, argv) for name, argv in COMMANDS if args.only in name]
    print(f"load average at start: {_load()}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print(f"median of {args.repeat} fresh processes each\n")
    print("| command | wall (s) | CPU (s) | exit | heavy imports |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as cwd:
        for name, argv in [("python -c pass (floor)", None), *chosen]:
            base = [sys.executable, "-c", "pass"] if argv is None else [sys.executable, "-m", "bench", *argv]
            *_, err = _run([base[0], "-X", "importtime", *base[1:]], cwd, env)  # untimed: warms the file cache too
            runs = [_run(base, cwd, env) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            codes = sorted({r[2] for r in runs})
            heavy = ", ".join(heavy_imports(err)) or "none"
            print(f"| `{name}` | {wall:.2f} | {cpu:.2f} | {'/'.join(map(str, codes))} | {heavy} |", flush=True)
    print(f"\nload average at end: {_load()}")


if __name__ == "__main__":
    main()
