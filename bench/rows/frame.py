"""Result rows as a tidy pandas DataFrame: one row per result row, one column per field.

Nested settings are flattened with dotted names (`budget.epochs`, `method_params.r`, `env.torch`); raw
samples, loss curves and per-example answers (lists and long strings) are left out unless `raw=True`;
`source` names the file each row came from.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.rows.store import read_rows

NESTED = ("budget", "measure", "method_params", "env")
RAW = ("test_correct",)  # per-example answers: one character per test example


def flat(row: dict, raw: bool = False) -> dict:
    out = {}
    for k, v in row.items():
        if k in NESTED and isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items() if raw or not isinstance(vv, (list, dict))})
        elif raw or not (isinstance(v, (list, dict)) or k in RAW):
            out[k] = v
    return out


def load_frame(paths, raw: bool = False, skip_bad: bool = False):
    """The rows of `paths` (one .jsonl path or several) as a DataFrame, in file order; `skip_bad`: a bad line
    is skipped with a warning naming it (bench.rows.store.read_rows), else it stops the read."""
    import pandas as pd

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise BenchError("no result files given")
    records = [{**flat(r, raw), "source": str(p)} for p in paths for r in read_rows(Path(p), skip_bad)]
    return pd.DataFrame.from_records(records)


def safe_cell(value):
    """A text cell a spreadsheet would run as a formula (= + - @, tab, carriage return) starts with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_frame(frame, out: Path, fmt: str) -> Path:
    """CSV or Parquet (Parquet needs pyarrow: a one-line error names it when missing)."""
    out = Path(out)
    if fmt not in ("csv", "parquet"):
        raise BenchError(f"unknown format {fmt!r}; valid: csv, parquet")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise BenchError("--format parquet needs the pyarrow package (pip install pyarrow)") from None
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
