"""Whether a task's examples and a model's weights can be had on this machine, without downloading them.

States, best first:
  cached       the verified archive, the converted model or the task's examples are in the asset cache
  local        nothing to fetch: examples generated in the project or read from a file, random weights
  fetchable    the pinned archive is listed by the configured index (one listing request per archive)
  unknown      the index could not be reached (offline): nothing can be said
  unavailable  no source can be had: the reason in a few words

Listings are kept briefly in the cache (LISTING_TTL_S), so `bench list` twice in a row asks once; they are keyed on
what the index settings depend on (index.config_inputs), so pip's configuration (a pip process: about half a
second) is read only when a listing is not kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.catalog import assets, examples, index, models, shapes, sources
from bench.catalog.task_types import Task

LISTING_TTL_S = 600
READY = ("cached", "local", "fetchable")


@dataclass(frozen=True)
class Availability:
    state: str  # cached | local | fetchable | unknown | unavailable
    detail: str = ""
    archive: str = ""  # package==version of the archive it turns on, when it does

    def text(self) -> str:
        return f"{self.state} ({self.detail})" if self.detail else self.state


@dataclass
class Probe:
    """One pass of checks: the index settings read once (and only when a listing or a message needs them), each
    package listed at most once, an unreachable place tried once (so an offline machine answers within a few
    seconds)."""

    skip: set[str] = field(default_factory=set)
    seen: dict[str, Availability] = field(default_factory=dict)

    @functools.cached_property
    def cfg(self) -> index.Settings:
        return index.settings()

    @functools.cached_property
    def inputs(self) -> str:
        return index.config_inputs()

    def asset(self, asset: assets.Asset) -> Availability:
        if asset.package not in self.seen:
            self.seen[asset.package] = _asset(asset, self)
        return self.seen[asset.package]


def _asset(asset: assets.Asset, probe: Probe) -> Availability:
    if cached_archive(asset):
        return Availability("cached", "archive", f"{asset.package}=={asset.version}")
    return on_index(asset, probe)


def cached_archive(asset: assets.Asset) -> bool:
    """Whether the cache holds the verified archive."""
    folder = assets.cache_dir() / "archives"
    found = folder.glob(f"*{asset.version}*") if folder.is_dir() else []
    return any(assets.matches(p.name, asset) and assets.sha256_of(p) == asset.sha256 for p in found)


def on_index(asset: assets.Asset, probe: Probe) -> Availability:
    """fetchable, unknown or unavailable: what the configured index says, whatever the cache holds."""
    pin = f"{asset.package}=={asset.version}"
    names, unreachable = _names(asset.package, probe)
    if any(assets.matches(n, asset) for n in names):
        return Availability("fetchable", f"{asset.size_mb:g} MB", pin)
    if unreachable:
        return Availability("unknown", "index unreachable", pin)
    if asset.withdrawn:
        return Availability("unavailable", f"{pin} {asset.withdrawn}", pin)
    return Availability("unavailable", f"{pin} is not on {probe.cfg.where()}", pin)


def _names(package: str, probe: Probe) -> tuple[list[str], list[str]]:
    """File names listed for a package (from the brief cache when it answered lately), unreachable places."""
    key = hashlib.sha256(f"{probe.inputs}|{package}".encode()).hexdigest()[:24]  # no pip process for a kept one
    cached = assets.cache_dir() / "index" / f"{key}.json"
    try:
        data = json.loads(cached.read_text())
        if time.time() - data["at"] < LISTING_TTL_S and isinstance(data["names"], list):
            return data["names"], []
    except (OSError, ValueError, KeyError, TypeError):
        pass
    got = index.listed(package, probe.cfg, probe.skip)
    if not got.unreachable:  # only a complete answer is kept
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps({"at": time.time(), "names": got.names}))
        except OSError:
            pass
    return got.names, [index.masked(p) for p in got.unreachable]


def task(t: Task, probe: Probe) -> Availability:
    """The first of the task's sources that can be had, in order; else why none can."""
    if examples.cache_path(t).is_file():
        return Availability("cached", "examples")
    found = [source(s, t, probe) for s in t.sources]
    best = next((a for a in found if a.state in READY), None)
    if best:
        return best
    unknown = next((a for a in found if a.state == "unknown"), None)
    return unknown or Availability("unavailable", "; ".join(a.detail for a in found), found[0].archive)


def source(s: dict, t: Task, probe: Probe) -> Availability:
    kind = sources.kind_of(s)
    if kind == "generate":
        return Availability("local", "generated")
    if kind == "path":
        p = sources.local_path(t.path, s["path"])
        return Availability("local", "file") if p.is_file() else Availability("unavailable", f"no file {s['path']}")
    if kind == "hf":
        return Availability("unknown", f"hub dataset {s['hf']}, not checked")
    return probe.asset(assets.get_asset(s["asset"]))


def model(name: str, probe: Probe) -> Availability:
    if shapes.is_shape(name):
        return Availability("local", "random weights")
    spec = models.resolve(name)
    if not spec.asset:
        return Availability("local" if spec.location and Path(spec.location).is_dir() else "unknown", spec.location)
    if models.is_cached(spec):
        return Availability("cached", "converted model")
    return probe.asset(assets.get_asset(spec.asset))
