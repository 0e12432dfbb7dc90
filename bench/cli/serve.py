"""`python -m bench serve`: serving many tasks under load; parse options, run, print the table.

The options are checked without torch (bench.execute.spec.check_command), so `--help` and bad input answer at
once; the serving run (bench/serving/run.py, with torch) is loaded only when it starts."""

from __future__ import annotations

import dataclasses
import importlib

from bench.catalog import models
from bench.cli import COMMANDS
from bench.cli.options import (
    FLEET_FLAGS,
    MODEL_FLAGS,
    add_device,
    add_model,
    add_output,
    add_set,
    add_shape_flags,
    from_flags,
    not_ok_lines,
    results_file,
)
from bench.config import coerce
from bench.errors import BenchError
from bench.execute.spec import check_command
from bench.options import SERVE_STRATEGIES, ServeConfig, validate_serve

# each flag is an alias of a `--set` key
FLAGS = {
    **MODEL_FLAGS,
    "tasks_n": "tasks_n",
    "strategies": "strategies",
    "rank": "ranks",
    "popularity": "popularity",
    "arrivals": "arrivals",
    "cv": "cv",
    "max_batch": "max_batch",
    "max_wait_ms": "max_wait_ms",
    "rates": "rates",
    **FLEET_FLAGS,
}


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help=COMMANDS["serve"][1])
    add_model(p, "shape:llama-3.2-1b with model.layers=2")
    add_shape_flags(p)
    p.add_argument("--tasks-n", help="numbers of tasks (adapters), e.g. 16,64")
    p.add_argument("--strategies", help=f"default: {','.join(SERVE_STRATEGIES)}")
    p.add_argument("--rank", help="LoRA ranks, e.g. 8,16,64 (default 16): one fleet per rank and number of tasks")
    p.add_argument("--popularity", help="zipf (default) or uniform")
    p.add_argument("--arrivals", help="poisson (default) or gamma (with --cv)")
    p.add_argument("--cv", help="Gamma arrivals: coefficient of variation of the gaps")
    p.add_argument("--max-batch", help="largest batch (default 32)")
    p.add_argument("--max-wait-ms", help="how long a batch may wait to fill (default 0: start at once)")
    p.add_argument("--slo-ms", help="p99 latency target in ms (default: 4x the base model's full-batch time)")
    p.add_argument("--rates", help="extra request rates (req/s) to record each strategy's latency at")
    p.add_argument("--no-validate", action="store_true", help="skip the real-time runs that check the simulation")
    add_device(p)
    p.add_argument(
        "--adapters-from",
        help="results .jsonl of earlier runs of this model: their kept adapters and soft prompts fill the first "
        "slots (at their rank and virtual tokens) and the requests are their tasks' test inputs",
    )
    add_set(p, "model.layers=4, model.dtype=bf16, profile.repeats=3, sim_requests=20000")
    add_output(p, "serve")
    p.set_defaults(func=cmd_serve)


def config_from_args(args) -> ServeConfig:
    cfg = ServeConfig()
    if args.slo_ms is not None:
        slo = coerce(args.slo_ms, float, "--slo-ms")
        if not 0 < slo < float("inf"):
            raise BenchError(f"--slo-ms must be more than 0 ms and finite, got {args.slo_ms}")
        cfg = dataclasses.replace(cfg, slo_ms=slo)
    if args.no_validate:
        cfg = dataclasses.replace(cfg, validate=())
    cfg = from_flags(cfg, args, FLAGS)
    spec = models.resolve(cfg.model.name)
    if not spec.shape and cfg.model == dataclasses.replace(ServeConfig().model, name=cfg.model.name):
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, layers=0))  # layers: shapes only
    return check_command(cfg, validate_serve)


def cmd_serve(args) -> int:
    cfg = config_from_args(args)
    output = results_file(cfg, args, "serve", ("serve",))
    serving = importlib.import_module("bench.serving.run")  # torch: only for a serving run that starts
    rows = serving.run_serve(cfg, output, log=lambda m: print(m, flush=True))
    print()
    print(importlib.import_module("bench.render.terminal").serve_table(rows))
    err = serving.median_error(rows)
    if err is not None:
        fixed = serving.median_error(rows, "p50_err_pct_drift_corrected")
        tput = serving.median_error(rows, "throughput_err_pct")
        print(
            f"simulation vs real time: median |p50 error| {err:.1f} % ({fixed:.1f} % with service times scaled "
            f"to the machine's speed during each run), median |throughput error| {tput:.1f} %"
        )
    print("\n".join(not_ok_lines(rows, "rows")))
    print(f"results: {output}")
    return 0
