"""The switching sweep: for each number of tasks N, build the fleet, gate every strategy, then
serve each workload with every strategy in interleaved repeats -> one row per (workload, strategy).

    python -m bench switch [--quick] [--model minilm] [--tasks-n 1,2,4] [--batch-sizes 1,8,32] ...
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.errors import BenchError, Unsupported, choices
from bench.execute.device import resolve_device
from bench.execute.run import quiet_libraries
from bench.measure import environment, machine, memory
from bench.measure.timing import sync
from bench.rows import store
from bench.rows.fields import new_run_id, stamp
from bench.switching import fleet as fleets
from bench.switching import gates
from bench.switching.strategies import PROMPT_STRATEGIES, SERVERS, STRATEGIES, Served, serve
from bench.switching.trained import from_results
from bench.switching.workload import LENGTHS, ORDERS, POPULARITIES, Workload, switches, task_sequence


@dataclass(frozen=True)
class SweepConfig:
    name: str = "switch"  # rows record it as their suite
    model: str = "minilm"
    tasks_n: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    popularities: tuple[str, ...] = POPULARITIES
    orders: tuple[str, ...] = ORDERS
    lengths: tuple[str, ...] = tuple(LENGTHS)
    strategies: tuple[str, ...] = STRATEGIES
    requests: int = 128
    repeats: int = 3
    rank: int = 8
    virtual_tokens: int = 20
    device: str = "auto"
    seed: int = 0
    adapters_from: str = ""  # a results .jsonl whose kept adapters (runs of this model) fill the first slots
    layers: int = 0  # shape-only models (shape:<name>): keep the first N layers (0: all)
    dtype: str = "fp32"  # shape-only models: fp32, bf16 or fp16


# The sweep inside the default `run`: small enough for a few minutes on 2 CPU cores.
QUICK = SweepConfig(
    name="switch-quick",
    tasks_n=(1, 4, 16),
    batch_sizes=(32,),
    popularities=("uniform",),
    lengths=("short",),
    strategies=tuple(s for s in STRATEGIES if s != "hotswap_compiled"),
    requests=64,
    repeats=2,
)


def validate(cfg: SweepConfig) -> None:
    if not cfg.tasks_n or min(cfg.tasks_n) < 1:
        raise BenchError("--tasks-n: every number of tasks must be at least 1, e.g. 1,2,4")
    if not cfg.batch_sizes or min(cfg.batch_sizes) < 1:
        raise BenchError("--batch-sizes: every batch size must be at least 1, e.g. 1,8,32")
    for name, values, valid in (
        ("strategy", cfg.strategies, STRATEGIES),
        ("popularity", cfg.popularities, POPULARITIES),
        ("order", cfg.orders, ORDERS),
        ("length", cfg.lengths, tuple(LENGTHS)),
    ):
        bad = [v for v in values if v not in valid]
        if bad or not values:
            raise BenchError(f"unknown {name} {bad[0] if bad else '(none)'!r}; valid: {choices(valid)}")
    if cfg.requests < 1 or cfg.repeats < 1 or cfg.rank < 1 or cfg.virtual_tokens < 1:
        raise BenchError("requests, repeats, rank and virtual tokens must be at least 1")


def _percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"switch_ms_p50": None, "switch_ms_p95": None, "switch_ms_p99": None}
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {"switch_ms_p50": float(p50), "switch_ms_p95": float(p95), "switch_ms_p99": float(p99)}


def row_for(
    prov: dict,
    cfg: SweepConfig,
    w: Workload,
    strategy: str,
    served: list[Served],
    base_ms: float | None,
    resident: int,
    extra_per_request: int,
    gate: dict,
    peak: int,
) -> dict:
    """One result row (pure)."""
    totals = [s.total_ms for s in served]
    total = statistics.median(totals)
    swaps = [x for s in served for x in s.switch_ms]
    tokens = w.n_requests * w.tokens_per_request
    ok = bool(gate.get("gate_ok", True))
    return {
        **prov,
        "run_id": new_run_id(),
        "model": cfg.model,
        "strategy": strategy,
        "n_tasks": w.n_tasks,
        "batch_size": w.batch_size,
        "popularity": w.popularity,
        "order": w.order,
        "length": w.length,
        "tokens_per_request": w.tokens_per_request,
        "n_requests": w.n_requests,
        "status": "ok" if ok else "failed",
        "error": None if ok else f"correctness gate failed: {', '.join(k for k, v in gate.items() if v is False)}",
        "n_switches": len(swaps) // max(1, len(served)),
        **_percentiles(swaps),
        "total_ms_p50": total,
        "requests_per_s": w.n_requests / (total / 1000),
        "tokens_per_s": tokens / (total / 1000),
        "overhead_vs_base_pct": (total / base_ms - 1) * 100 if base_ms else None,
        "extra_tokens": extra_per_request * w.n_requests,
        "adapter_bytes_resident": resident,
        "peak_mem_bytes": peak,
        "gate_ok": ok,
        "gates": gate,
        "rank": cfg.rank,
        "virtual_tokens": cfg.virtual_tokens,
        "total_ms_samples": totals,
        "switch_ms_samples": swaps,
        "batch_ms_samples": [x for s in served for x in s.batch_ms],
    }


def break_even(merge: list[Served], unmerged: list[Served], n_requests: int) -> float | None:
    """Requests per task after which merging pays: swap cost / (unmerged - merged) time per request.
    None when unmerged serving is not slower (merging never pays)."""
    per_req = [sum(s.batch_ms) / n_requests for s in merge]
    per_req_u = [sum(s.batch_ms) / n_requests for s in unmerged]
    gain = statistics.median(per_req_u) - statistics.median(per_req)
    swaps = [x for s in merge for x in s.switch_ms]
    swaps_u = [x for s in unmerged for x in s.switch_ms]
    if gain <= 0 or not swaps:
        return None
    return (statistics.median(swaps) - (statistics.median(swaps_u) if swaps_u else 0.0)) / gain


def workloads(cfg: SweepConfig, n: int) -> list[Workload]:
    return [
        Workload(n, cfg.requests, b, p, o, ln, cfg.seed)
        for b in cfg.batch_sizes
        for p in cfg.popularities
        for o in cfg.orders
        for ln in cfg.lengths
    ]


def run_sweep(cfg: SweepConfig, output: Path, show_progress: bool = True) -> list[dict]:

    validate(cfg)
    device = torch.device(resolve_device(cfg.device))
    quiet_libraries()
    base, spec = fleets.load_backbone(cfg.model, cfg.layers, cfg.dtype, device)
    prov = {
        **stamp("switch", device.type),  # run_id: one per row, drawn as each is built
        "suite": cfg.name,
        "env": environment.environment(device),
        "sweep": dataclasses.asdict(cfg),
        "weights": "random" if spec.shape else "pretrained",  # shape-only models: speed, never accuracy
    }
    trained = None
    if cfg.adapters_from:
        trained = from_results(
            Path(cfg.adapters_from), cfg.model, cfg.rank, cfg.virtual_tokens, getattr(base, "base_model_prefix", "")
        )
        prov["trained_adapters_from"] = trained.sources
    vocab = base.get_input_embeddings().weight.shape[0]
    total = sum(len(workloads(cfg, n)) for n in cfg.tasks_n) * cfg.repeats * len(cfg.strategies)
    bar = tqdm(total=total, desc="switch sweep", unit="serve", disable=not show_progress)
    rows: list[dict] = []
    probe = machine.SpeedProbe()  # the base model's speed, after each workload: the sweep's drift
    for n in cfg.tasks_n:
        bar.set_postfix_str(f"N = {n} tasks")
        fleet = fleets.build(
            base, n, device, rank=cfg.rank, virtual_tokens=cfg.virtual_tokens, seed=cfg.seed, trained=trained
        )
        try:
            rows += _sweep_fleet(cfg, fleet, prov, vocab, bar, probe)
        finally:
            fleet.close()
            del fleet
        store.append_rows(output, [r for r in rows if r["n_tasks"] == n])
    bar.close()
    return rows


def _sweep_fleet(cfg: SweepConfig, fleet, prov: dict, vocab: int, bar, probe: machine.SpeedProbe) -> list[dict]:

    device = fleet.device
    gen = torch.Generator().manual_seed(cfg.seed + fleet.n)
    inputs = {
        ln: torch.randint(1000 if vocab > 2000 else 5, vocab, (cfg.requests, LENGTHS[ln]), generator=gen).to(device)
        for ln in cfg.lengths
    }
    probe_ids = inputs[cfg.lengths[0]][: max(8, fleet.n)]
    servers, gate, unsupported = {}, {}, {}
    shared = {**gates.adapters_change_output(fleet, probe_ids), **gates.merge_drift(fleet)}
    for s in cfg.strategies:
        servers[s] = SERVERS[s](fleet)
        try:
            servers[s].prepare()
            g = gates.check_server(fleet, s, servers[s], probe_ids)
        except Unsupported as e:
            unsupported[s] = str(e)
            continue
        g.update(_shared_gates(s, shared))
        g["gate_ok"] = all(v for k, v in g.items() if isinstance(v, bool) and k != "gate_ok") and g["gate_ok"]
        gate[s] = g
    ids = probe_ids[:8]

    @torch.inference_mode()
    def base_work():
        fleet.plain(input_ids=ids, attention_mask=torch.ones_like(ids))
        sync(device)

    probe.measure(base_work)
    rows = []
    for w in workloads(cfg, fleet.n):
        state = machine.at_start()
        tasks = task_sequence(w)
        served: dict[str, list[Served]] = {s: [] for s in servers if s not in unsupported}
        peaks: dict[str, int] = {}
        for _ in range(cfg.repeats):
            for s in served:  # interleaved: machine noise hits every strategy alike
                if device.type == "cuda":
                    memory.reset_peak(device)
                served[s].append(serve(servers[s], inputs[w.length], tasks, w.batch_size))
                peaks[s] = max(peaks.get(s, 0), memory.peak_bytes(device))
                bar.update(1)
        base_ms = statistics.median(x.total_ms for x in served["base"]) if "base" in served else None
        probe.measure(base_work)
        state.update(machine.at_end(), base_drift_pct=probe.drift_pct())
        for s in cfg.strategies:
            if s in unsupported:
                rows.append(
                    {
                        **prov,
                        "run_id": new_run_id(),
                        "model": cfg.model,
                        "strategy": s,
                        "n_tasks": w.n_tasks,
                        "batch_size": w.batch_size,
                        "popularity": w.popularity,
                        "order": w.order,
                        "length": w.length,
                        "status": "unsupported",
                        "error": unsupported[s],
                        "gate_ok": None,
                        **state,
                    }
                )
                bar.update(cfg.repeats)
                continue
            row = row_for(
                prov,
                cfg,
                w,
                s,
                served[s],
                base_ms,
                servers[s].resident_bytes(),
                servers[s].extra_tokens_per_request(),
                gate[s],
                peaks[s],
            )
            row["expected_switches"] = switches(tasks, w.batch_size) if not servers[s].mixed else 0
            row["trained_in_fleet"] = min(
                fleet.n, fleet.trained_prompts if s in PROMPT_STRATEGIES else fleet.trained_lora
            )
            row["peak_mem_scope"] = "strategy" if device.type == "cuda" else "process"
            row.update(state)
            if s == "merge_swap" and "set_adapter" in served:
                row["break_even_requests_per_task"] = break_even(served[s], served["set_adapter"], w.n_requests)
            rows.append(row)
    return rows


def _shared_gates(strategy: str, shared: dict) -> dict:
    """The fleet-wide gates that concern a strategy: its adapters move the output; merge drift."""
    if strategy == "base":
        return {}
    if strategy in PROMPT_STRATEGIES:
        return {
            "prompt_changes_output": shared["prompt_changes_output"],
            "prompt_min_change": shared["prompt_min_change"],
        }
    out = {"lora_changes_output": shared["lora_changes_output"], "lora_min_change": shared["lora_min_change"]}
    if strategy == "merge_swap":
        out.update({k: v for k, v in shared.items() if k.startswith("drift")})
    return out
