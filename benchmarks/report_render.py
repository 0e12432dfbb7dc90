"""How long the HTML report of the quick suite takes to render, split into imports and figures.

The rows are the default `run`'s (the quick suite): MiniLM on two tasks x four methods, one seed, and its
switching sweep (N = 1, 4, 16 x two orders x ten strategies). Give `--rows FILE.jsonl` (the results a
`python -m bench run` printed) to time real rows; without it the script builds rows of that shape in memory.
Every number is printed as wall time and CPU time of this process (time.process_time, less sensitive to
other work on the machine), with the load average beside it.

    python benchmarks/report_render.py [--rows results/runs/<time>-quick.jsonl] [--repeat 3] [--cli]

With --cli it also times the whole command a user waits for, `python -m bench report ROWS -o OUT` in a fresh
process (interpreter start, CLI and row reading included; CPU time of the child).
"""

from __future__ import annotations

import argparse
import time

T0 = (time.perf_counter(), time.process_time())


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def quick_rows() -> list[dict]:
    """Rows shaped like the quick suite's: 8 runs and 60 switch rows (the numbers are plausible, not measured)."""
    methods = {  # accuracy, trainable params, peak memory
        "lora": (0.78, 74_498, 1_443_164_160),
        "prompt_tuning": (0.57, 8_450, 1_803_112_448),
        "head_only": (0.61, 770, 918_319_104),
        "full": (0.80, 22_713_986, 1_764_970_496),
    }
    rows = []
    for t, task in enumerate(("rotten_tomatoes", "debates_party")):
        for method, (acc, params, mem) in methods.items():
            acc -= 0.2 * t
            rows.append(
                {
                    "schema_version": 1,
                    "kind": "run",
                    "run_id": f"{task}-{method}",
                    "created_at": "2026-12-01T10:00:00+00:00",
                    "git_sha": "0" * 40,
                    "git_dirty": False,
                    "machine_id": "bench",
                    "suite": "quick",
                    "task": task,
                    "model": "minilm",
                    "method": method,
                    "seed": 0,
                    "env": {"device_kind": "cpu", "num_threads": 2},
                    "status": "ok",
                    "trainable_params": params,
                    "total_params": 22_788_484,
                    "trainable_pct": 100 * params / 22_788_484,
                    "adapter_bytes": params * 4 + 1000,
                    "accuracy": acc,
                    "accuracy_ci_low": acc - 0.03,
                    "accuracy_ci_high": acc + 0.03,
                    "n_eval": 1000,
                    "train_tokens_per_s": 1000 + len(method) * 50,
                    "infer_tokens_per_s": 2300 + len(method) * 10,
                    "infer_tokens_per_s_batch": 4000 - len(method),
                    "infer_latency_ms_p50": 12.5,
                    "peak_mem_bytes": mem,
                    "mem_baseline_bytes": 400_000_000,
                }
            )
    strategies = (
        "base merge_swap set_adapter hotswap load_cold load_warm peft_mixed_batch gathered_lora prompt_swap "
        "mixed_prompt_batch"
    ).split()
    for order in ("shuffled", "grouped"):
        for n in (1, 4, 16):
            for i, s in enumerate(strategies):
                rps = 120 / (1 + i * 0.05 * n**0.5)
                rows.append(
                    {
                        "schema_version": 1,
                        "kind": "switch",
                        "run_id": f"sw-{order}-{n}-{s}",
                        "created_at": "2026-12-01T10:10:00+00:00",
                        "git_sha": "0" * 40,
                        "machine_id": "bench",
                        "suite": "switch-quick",
                        "model": "minilm",
                        "env": {"device_kind": "cpu"},
                        "strategy": s,
                        "n_tasks": n,
                        "batch_size": 32,
                        "popularity": "uniform",
                        "order": order,
                        "length": "short",
                        "switch_ms_p50": 0.0 if s == "base" else 2.0 + i,
                        "switch_ms_p95": 0.0 if s == "base" else 3.0 + i,
                        "requests_per_s": rps,
                        "tokens_per_s": rps * 40,
                        "overhead_vs_base_pct": 100 * (120 / rps - 1),
                        "adapter_bytes_resident": 300_000 * n,
                        "peak_mem_bytes": 10**9,
                        "gate_ok": True,
                        "status": "ok",
                    }
                )
    return rows


def _timed_figures(log: list) -> None:
    """Wrap every *_figure function the report calls so each call's wall and CPU time is logged."""
    import bench.render.figures as figures
    import bench.render.serving as serving

    for module in (figures, serving):
        for name in [n for n in vars(module) if n.endswith("_figure") and callable(getattr(module, n))]:
            fn = getattr(module, name)

            def timed(*a, _fn=fn, _name=name, **k):
                w, c = time.perf_counter(), time.process_time()
                out = _fn(*a, **k)
                log.append((_name, time.perf_counter() - w, time.process_time() - c))
                return out

            setattr(module, name, timed)


def _time_cli(rows: list[dict]) -> None:
    import json
    import os
    import resource
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "quick.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        cmd = [sys.executable, "-m", "bench", "report", str(src), "-o", str(Path(tmp) / "quick.html")]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"python -m bench report (fresh process): {time.perf_counter() - w:.2f} s wall, {cpu:.2f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", help="a results .jsonl (default: quick-suite-shaped rows built in memory)")
    ap.add_argument("--repeat", type=int, default=3, help="renders after the first (warm) one")
    ap.add_argument("--cli", action="store_true", help="also time `python -m bench report` end to end")
    args = ap.parse_args()
    print(f"load average at start: {_load()}")
    w, c = time.perf_counter(), time.process_time()
    from bench.render import html
    from bench.render.figures import pyplot

    pyplot()  # the plotting libraries the figures need, as the first figure would load them
    imports = (time.perf_counter() - w, time.process_time() - c)
    print(f"imports (bench.render.html + plotting): {imports[0]:.2f} s wall, {imports[1]:.2f} s CPU")
    if args.rows:
        from bench.rows.store import read_rows

        rows = read_rows(args.rows)
    else:
        rows = quick_rows()
    log: list = []
    _timed_figures(log)
    renders = []
    for i in range(1 + args.repeat):
        log.clear()
        w, c = time.perf_counter(), time.process_time()
        page = html.render(rows)
        renders.append((time.perf_counter() - w, time.process_time() - c))
        fig_w, fig_c = sum(x[1] for x in log), sum(x[2] for x in log)
        tag = "first" if i == 0 else f"again {i}"
        print(
            f"render {tag}: {renders[-1][0]:.2f} s wall, {renders[-1][1]:.2f} s CPU; {len(log)} figures "
            f"{fig_w:.2f} s wall, {fig_c:.2f} s CPU; {len(page) // 1024} KiB; load {_load()}"
        )
        if i == 0:
            for name, fw, fc in log:
                print(f"  {name:28s} {fw:6.2f} s wall {fc:6.2f} s CPU")
    if args.cli:
        _time_cli(rows)
    total = (time.perf_counter() - T0[0], time.process_time() - T0[1])
    print(
        f"first report's own work (imports + first render): {imports[0] + renders[0][0]:.2f} s wall, "
        f"{imports[1] + renders[0][1]:.2f} s CPU; whole script {total[0]:.2f} s wall, {total[1]:.2f} s CPU; "
        f"load at end: {_load()}"
    )


if __name__ == "__main__":
    main()
