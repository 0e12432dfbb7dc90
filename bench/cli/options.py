"""What `run`, `switch` and `serve` share on the command line, defined once: the model, the device, `--set
KEY=VALUE`, the results file; a command's own flags are aliases of `--set` keys, applied the same way (an
error names the flag the user typed); and the closing lines every measuring command prints."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bench.catalog.shapes import DTYPES
from bench.config import apply_overrides
from bench.execute.device import resolve_device
from bench.options import DEVICES
from bench.rows.store import check_appendable

# the flags `switch` and `serve` share, each an alias of a `--set` key: the model first, then the device and
# the runs whose adapters fill the fleet (a command's own flags go between them)
MODEL_FLAGS = {"model": "model.name", "layers": "model.layers", "dtype": "model.dtype"}
FLEET_FLAGS = {"device": "device", "adapters_from": "adapters_from"}

SHAPE_HELP = "shape:NAME (random weights, speed only; --set model.layers=N, model.dtype=bf16)"


def add_model(p, default: str) -> None:
    p.add_argument(
        "--model",
        help=f"minilm, smollm2-135m, a local model folder, a Hugging Face id, or {SHAPE_HELP} (default: {default})",
    )


def add_shape_flags(p) -> None:
    """--layers and --dtype: aliases of model.layers and model.dtype (shape-only models)."""
    p.add_argument("--layers", help="shape-only models (shape:<name>): keep the first N layers (model.layers)")
    p.add_argument("--dtype", choices=DTYPES, help="shape-only models: the weights' dtype (model.dtype)")


def add_device(p) -> None:
    p.add_argument("--device", choices=DEVICES, help="default: auto (cuda when available)")


def add_set(p, examples: str) -> None:
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override any option, dotted ({examples}); repeatable",
    )


def add_output(p, kind: str) -> None:
    p.add_argument("--output", type=Path, help=f"JSONL to append rows to (default: results/runs/<time>-{kind}.jsonl)")


def from_flags(cfg, args, flags: dict[str, str]):
    """`cfg` with the command's flags (flag attribute -> the `--set` key it stands for) applied as `--set`
    items, then the user's own `--set` items on top. An error on a flag's value names the flag."""
    given = {flag: getattr(args, flag) for flag in flags if getattr(args, flag, None) is not None}
    sets = [f"{flags[flag]}={value}" for flag, value in given.items()]
    typed = {key: f"--{flag.replace('_', '-')}" for flag, key in flags.items()}
    return apply_overrides(apply_overrides(cfg, sets, typed), list(args.sets))


def default_output(kind: str) -> Path:
    return Path("results") / "runs" / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{kind}.jsonl"


def results_file(cfg, args, kind: str, kinds: tuple[str, ...]) -> Path:
    """Where a measuring command appends its rows (--output, or a new file), after the device is checked: a
    device this machine lacks is refused before the results file is touched; a file of other kinds of rows too."""
    resolve_device(cfg.device)
    output = args.output or default_output(kind)
    check_appendable(output, kinds)
    return output


def not_ok_lines(rows: list[dict], what: str) -> list[str]:
    """ "N rows, k ok, m not ok", then each strategy's failure once (status, rows, error): how `switch` and `serve`
    end, as `run` does (their exit code stays 0 then: the rows, failed ones included, are the result)."""
    bad: dict[tuple, int] = {}
    for r in rows:
        if r.get("status") != "ok":
            key = (r.get("strategy") or r.get("method"), r.get("status"), r.get("error"))
            bad[key] = bad.get(key, 0) + 1
    lines = [f"{len(rows)} {what}, {len(rows) - sum(bad.values())} ok, {sum(bad.values())} not ok"]
    lines += [f"  {name}: {status} ({n} rows): {error}" for (name, status, error), n in bad.items()]
    return lines
