"""Result rows as a tidy pandas DataFrame: one row per result row (run, switch or serve), one column per value.

Every nested value is flattened, at any depth, into dotted column names:
- an object's fields: `budget.epochs`, `env.torch`, `at_slo.p99_ms`, `serve.model.layers`, `service_ms.8,1`;
- a list of objects, one group of columns per item, numbered from 0 in the row's order: `curve.0.rate_rps`,
  `curve.0.p99_ms`, `validation.1.real.p50_ms` (each item keeps its own rate or fraction beside its values);
- a list of plain values (`serve.strategies`, `adapter_targets`): one cell holding the list as JSON text.
Raw measurements (timing samples, loss curves, per-example answers, generated samples) are left out unless
`raw=True`, then flattened by the same rules. `source` names the file each row came from.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.errors import BenchError
from bench.rows.store import read_rows

RAW = ("test_correct", "loss_curve", "samples")  # with every `*_samples` field: raw measurements


def is_raw(name: str) -> bool:
    return name in RAW or name.endswith("_samples")


def flat(row: dict, raw: bool = False) -> dict:
    """One result row as {dotted column: plain value} (the rules above)."""
    out: dict = {}
    for k, v in row.items():
        if raw or not is_raw(k):
            _flatten(str(k), v, out)
    return out


def _flatten(name: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{name}.{k}", v, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(f"{name}.{i}", v, out)
    elif isinstance(value, list):
        out[name] = json.dumps(value, default=str)
    else:
        out[name] = value


def load_frame(paths, raw: bool = False, skip_bad: bool = False):
    """The rows of `paths` (one .jsonl path or several) as a DataFrame, in file order; `skip_bad`: a bad line
    is skipped with a warning naming it (bench.rows.store.read_rows), else it stops the read."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise BenchError("no result files given")
    records = [{**flat(r, raw), "source": str(p)} for p in paths for r in read_rows(Path(p), skip_bad)]
    import pandas as pd  # once the rows are read: a file that cannot be read answers without it

    return pd.DataFrame.from_records(records)


def safe_cell(value):
    """A text cell a spreadsheet would run as a formula (= + - @, tab, carriage return) starts with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def check_format(fmt: str) -> None:
    """The format is known and can be written here (Parquet needs pyarrow, the `parquet` extra)."""
    if fmt not in ("csv", "parquet"):
        raise BenchError(f"unknown format {fmt!r}; valid: csv, parquet")
    if fmt == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise BenchError(
                "--format parquet needs the pyarrow package: pip install '.[parquet]' in the bench's checkout, "
                "or pip install pyarrow"
            )


def write_frame(frame, out: Path, fmt: str) -> Path:
    """CSV or Parquet (Parquet needs pyarrow: a one-line error names it when missing)."""
    out = Path(out)
    check_format(fmt)
    import pandas as pd

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":  # text cells and column names that a spreadsheet would run as formulas are quoted
            frame = frame.rename(columns=safe_cell)
            text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
            frame = frame.assign(**{c: frame[c].map(safe_cell) for c in text})
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    except OSError as e:
        raise BenchError(f"cannot write {out}: {e.strerror}") from None
    return out
