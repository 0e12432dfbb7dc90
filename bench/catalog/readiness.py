"""Before anything runs, and in CI: can a plan's model and tasks be had, and is every pinned archive still
where it is fetched from (bench/catalog/availability.py says how each is checked)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.catalog import assets, availability, models, shapes, sources, tasks
from bench.catalog.availability import Availability, Probe
from bench.config import list_suites, load_suite
from bench.errors import BenchError

REMEDY = (
    "to run them: ADAPTER_BENCH_CACHE=DIR, DIR a cache folder written by `python -m bench assets bundle` on a "
    "machine that holds {pins}; or the archive in a folder DIR and ADAPTER_BENCH_PIP_ARGS='--find-links DIR'; "
    "or another source in the task file (docs/tasks.md)"
)


def refusal(model: str, task_names: list[str], tasks_dirs: list[Path] | None, probe: Probe | None = None) -> str:
    """One line naming what of a plan cannot be had and what would make it runnable; "" when nothing is
    known to be missing (an unreachable index is no reason to refuse: the run says so if it must fetch)."""
    probe = probe or Probe()
    gone: dict[str, Availability] = {}
    if not shapes.is_shape(model):  # runs on random weights read no examples
        for name in task_names:
            t = tasks.load_task(name, tasks_dirs)
            a = availability.task(t, probe)
            if a.state == "unavailable":
                gone[f"task {t.name}"] = a
    try:
        m = availability.model(model, probe)
    except BenchError:
        m = None  # an unknown model is named by the run's own check
    if m and m.state == "unavailable":
        gone[f"model {model}"] = m
    if not gone:
        return ""
    why = "; ".join(dict.fromkeys(a.detail for a in gone.values()))
    pins = " and ".join(sorted({a.archive for a in gone.values() if a.archive})) or "the data"
    return f"cannot run {', '.join(gone)}: {why}; nothing was run; {REMEDY.format(pins=pins)}"


def check_plan(model: str, task_names: list[str], tasks_dirs: list[Path] | None) -> None:
    line = refusal(model, task_names, tasks_dirs)
    if line:
        raise BenchError(line)


@dataclass(frozen=True)
class AssetCheck:
    asset: assets.Asset
    found: Availability  # on the index: fetchable, unknown or unavailable
    cached: bool
    needed_by: tuple[str, ...]  # shipped suites that read it

    @property
    def failed(self) -> bool:
        """Gone (or not checkable) and needed by a shipped suite, or gone without being known as withdrawn."""
        return self.found.state != "fetchable" and bool(self.needed_by or not self.asset.withdrawn)

    def line(self) -> str:
        pin = f"{self.asset.package}=={self.asset.version}"
        state = "on the index" if self.found.state == "fetchable" else self.found.text()
        extra = [f"needed by {', '.join(self.needed_by)}" if self.needed_by else "needed by no shipped suite"]
        if self.cached:
            extra.append("a verified copy is in this machine's cache")
        mark = "FAIL" if self.failed else "ok" if self.found.state == "fetchable" else "gone"
        return f"{mark:4}  {pin:28} {state}; {'; '.join(extra)}"


def suite_needs() -> dict[str, list[str]]:
    """Asset package -> the shipped suites that read it (a task with a source that is always local, a
    generator or a shipped file, needs none of its archives)."""
    needs: dict[str, list[str]] = {}
    for suite, path in list_suites().items():
        cfg = load_suite(str(path))
        packages = set()
        if cfg.model.name in models.MODELS:
            packages.add(models.MODELS[cfg.model.name].asset)
        if not shapes.is_shape(cfg.model.name):
            for name in cfg.tasks:
                packages |= task_packages(tasks.load_task(name))
        for p in sorted(packages - {""}):
            needs.setdefault(p, []).append(suite)
    return needs


def task_packages(t: tasks.Task) -> set[str]:
    if any(sources.kind_of(s) in ("generate", "path") for s in t.sources):
        return set()
    return {s["asset"] for s in t.sources if "asset" in s}


def check_assets(probe: Probe | None = None) -> list[AssetCheck]:
    probe = probe or Probe()
    needs = suite_needs()
    return [
        AssetCheck(a, availability.on_index(a, probe), availability.cached_archive(a), tuple(needs.get(a.package, [])))
        for a in assets.ASSETS.values()
    ]
