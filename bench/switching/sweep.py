"""The switching sweep: for each number of tasks N, build the fleet, gate every strategy, then
serve each workload with every strategy in interleaved repeats -> one row per (workload, strategy).

    python -m bench switch [--quick] [--model minilm] [--tasks-n 1,2,4] [--batch-sizes 1,8,32] ...
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.catalog import shapes
from bench.measure import machine, memory
from bench.options import LENGTHS, PROMPT_STRATEGIES, SweepConfig, sweep_record
from bench.rows import store
from bench.rows.fields import new_run_id
from bench.switching import gates
from bench.switching.session import attempt, build_fleet, failed_row, open_session, speed_probe
from bench.switching.strategies import SERVERS, Served, serve
from bench.switching.trained import from_results
from bench.switching.workload import Workload, switches, task_sequence


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
        **setting(cfg, w, strategy),
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


def setting(cfg: SweepConfig, w: Workload, strategy: str) -> dict:
    """What a switch row was measured on (every row has it, ok or not)."""
    return {
        "model": cfg.model.name,
        "layers": cfg.model.layers if shapes.is_shape(cfg.model.name) else None,
        "dtype": cfg.model.dtype,
        "strategy": strategy,
        "n_tasks": w.n_tasks,
        "batch_size": w.batch_size,
        "popularity": w.popularity,
        "order": w.order,
        "length": w.length,
    }


def run_sweep(cfg: SweepConfig, output: Path, show_progress: bool = True) -> list[dict]:
    """Every (workload, strategy) row of the sweep, appended to `output` fleet by fleet. `cfg`: checked
    (bench/options.py validate_switch). A strategy or fleet that raises makes failed rows; the sweep goes on."""
    s = open_session("switch", cfg, {"sweep": sweep_record(cfg)})
    s.prov["weights"] = s.weights
    trained = None
    if cfg.adapters_from:
        prefix = getattr(s.base, "base_model_prefix", "")
        trained = from_results(Path(cfg.adapters_from), cfg.model.name, cfg.rank, cfg.virtual_tokens, prefix)
        s.prov["trained_adapters_from"] = trained.sources
    total = sum(len(workloads(cfg, n)) for n in cfg.tasks_n) * cfg.repeats * len(cfg.strategies)
    bar = tqdm(total=total, desc="switch sweep", unit="serve", disable=not show_progress)
    rows: list[dict] = []
    gen = torch.Generator().manual_seed(cfg.seed)
    ids = torch.randint(min(1000, s.vocab - 1), s.vocab, (8, LENGTHS[cfg.lengths[0]]), generator=gen).to(s.device)
    probe = speed_probe(s.base, ids, s.device)  # the base model's speed, after each workload: the sweep's drift
    for n in cfg.tasks_n:
        bar.set_postfix_str(f"N = {n} tasks")
        fleet, problem = build_fleet(
            s.base, n, s.device, rank=cfg.rank, virtual_tokens=cfg.virtual_tokens, seed=cfg.seed, trained=trained
        )
        if problem:
            new = [failed_row(s.prov, setting(cfg, w, st), problem) for w in workloads(cfg, n) for st in cfg.strategies]
            bar.update(len(new) * cfg.repeats)
        else:
            try:
                new = _sweep_fleet(cfg, fleet, s.prov, s.vocab, bar, probe)
            finally:
                fleet.close()
                del fleet
        store.append_rows(output, new)
        rows += new
    bar.close()
    return rows


def _prepare(cfg: SweepConfig, fleet, probe_ids) -> tuple[dict, dict, dict]:
    """(strategy -> its server, strategy -> its gates, strategy -> (status, error) of those that could not
    serve: unsupported here, or raised while preparing or gating)."""
    servers, gate, refused = {}, {}, {}
    shared = {**gates.adapters_change_output(fleet, probe_ids), **gates.merge_drift(fleet)}
    for s in cfg.strategies:

        def ready(s=s):
            servers[s] = SERVERS[s](fleet)
            servers[s].prepare()
            return gates.check_server(fleet, s, servers[s], probe_ids)

        g, problem = attempt(ready)
        if problem:
            refused[s] = problem
            continue
        g.update(_shared_gates(s, shared))
        g["gate_ok"] = all(v for k, v in g.items() if isinstance(v, bool) and k != "gate_ok") and g["gate_ok"]
        gate[s] = g
    return servers, gate, refused


def _sweep_fleet(cfg: SweepConfig, fleet, prov: dict, vocab: int, bar, probe) -> list[dict]:
    device = fleet.device
    gen = torch.Generator().manual_seed(cfg.seed + fleet.n)
    inputs = {
        ln: torch.randint(1000 if vocab > 2000 else 5, vocab, (cfg.requests, LENGTHS[ln]), generator=gen).to(device)
        for ln in cfg.lengths
    }
    servers, gate, refused = _prepare(cfg, fleet, inputs[cfg.lengths[0]][: max(8, fleet.n)])
    speed, base_work = probe
    speed.measure(base_work)
    rows = []
    for w in workloads(cfg, fleet.n):
        state = machine.at_start()
        tasks = task_sequence(w)
        ready = [s for s in servers if s not in refused]
        served, peaks, failed = _serve_workload(cfg, w, tasks, servers, ready, inputs, bar)
        base_ms = statistics.median(x.total_ms for x in served["base"]) if "base" in served else None
        speed.measure(base_work)
        state.update(machine.at_end(), base_drift_pct=speed.drift_pct())
        for s in cfg.strategies:
            problem = refused.get(s) or failed.get(s)
            if problem:
                rows.append({**failed_row(prov, setting(cfg, w, s), problem), "gate_ok": None, **state})
                bar.update(cfg.repeats if s in refused else 0)
                continue
            server = servers[s]
            row = row_for(
                prov, cfg, w, s, served[s], base_ms, server.resident_bytes(), server.extra_tokens_per_request(),
                gate[s], peaks[s],
            )  # fmt: skip
            row["expected_switches"] = switches(tasks, w.batch_size) if not server.mixed else 0
            row["trained_in_fleet"] = min(
                fleet.n, fleet.trained_prompts if s in PROMPT_STRATEGIES else fleet.trained_lora
            )
            row["peak_mem_scope"] = "strategy" if device.type == "cuda" else "process"
            row.update(state)
            if s == "merge_swap" and "set_adapter" in served:
                row["break_even_requests_per_task"] = break_even(served[s], served["set_adapter"], w.n_requests)
            rows.append(row)
    return rows


def _serve_workload(cfg: SweepConfig, w: Workload, tasks: list[int], servers: dict, ready: list[str], inputs, bar):
    """Every ready strategy serves the workload cfg.repeats times, interleaved (machine noise hits every
    strategy alike) -> (strategy -> its timings, strategy -> its peak memory, strategy -> (status, error) of
    those that raised: they serve no more of this workload)."""
    served: dict[str, list[Served]] = {s: [] for s in ready}
    peaks: dict[str, int] = {}
    failed: dict[str, tuple[str, str]] = {}
    for repeat in range(cfg.repeats):
        for s in [s for s in ready if s not in failed]:
            device = servers[s].fleet.device
            if device.type == "cuda":
                memory.reset_peak(device)
            out, problem = attempt(serve, servers[s], inputs[w.length], tasks, w.batch_size)
            if problem:
                failed[s] = problem
                served.pop(s)
                bar.update(cfg.repeats - repeat)
                continue
            served[s].append(out)
            peaks[s] = max(peaks.get(s, 0), memory.peak_bytes(device))
            bar.update(1)
    return served, peaks, failed


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
