"""`python -m bench serve`: profile each strategy on the real model, find by simulation the highest
request rate that meets the SLO, validate the simulation against real-time runs -> rows of kind
"serve" (one per strategy and number of tasks)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from bench.analysis.fleets import P99_REQUESTS
from bench.execute.run import failure
from bench.measure import machine
from bench.options import ServeConfig
from bench.rows import store
from bench.rows.fields import new_run_id
from bench.serving import arrivals, from_runs, realtime
from bench.serving.policy import Policy
from bench.serving.profile import profile
from bench.serving.search import at_rate, rate_at_slo
from bench.serving.simulate import simulate, summarize
from bench.switching.session import attempt, build_fleet, failed_row, open_session, speed_probe
from bench.switching.strategies import SERVERS, forms_for

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def slo_ms(cfg: ServeConfig, base_service) -> float:
    """The p99 latency target: given, or slo_factor x the base model's service time for a full batch."""
    return cfg.slo_ms or cfg.slo_factor * base_service.batch_time_ms(cfg.max_batch, 1)


def target_modules(cfg: ServeConfig, spec) -> list[str] | None:
    if not spec.shape:
        return None  # PEFT's defaults for the architecture
    return list(ATTENTION + (MLP if cfg.targets == "attention+mlp" else ()))


def summary_dict(s) -> dict:
    return dataclasses.asdict(s)


def setting(cfg: ServeConfig, spec, strategy: str, n: int, rank: int) -> dict:
    """What a serve row was measured on (every row has it, ok or not)."""
    return {
        "model": cfg.model.name,
        "weights": "random" if spec.shape else "pretrained",
        "layers": cfg.model.layers if spec.shape else None,
        "dtype": cfg.model.dtype,
        "strategy": strategy,
        "mixed": SERVERS[strategy].mixed,
        "n_tasks": n,
        "rank": rank,
        "targets": cfg.targets if spec.shape else "peft default",
        "popularity": cfg.popularity,
        "arrivals": cfg.arrivals,
        "cv": cfg.cv,
        "tokens_per_request": cfg.tokens,
        "max_batch": cfg.max_batch,
        "max_wait_ms": cfg.max_wait_ms,
    }


def slo_rule(cfg: ServeConfig) -> str:
    return "given" if cfg.slo_ms else f"{cfg.slo_factor:g} x base batch-{cfg.max_batch} service time"


def _failed(prov: dict, cfg: ServeConfig, spec, strategy: str, n: int, rank: int, problem) -> dict:
    return failed_row(prov, {**setting(cfg, spec, strategy, n, rank), "slo_rule": slo_rule(cfg)}, problem)


def run_serve(cfg: ServeConfig, output: Path, log=print) -> list[dict]:
    """One row per strategy, rank and number of tasks, appended to `output` fleet by fleet. `cfg`: checked
    (bench/options.py validate_serve). A strategy or fleet that raises makes failed rows; the run goes on.
    With cfg.adapters_from, the runs' kept adapters fill the first slots and their test inputs are the requests."""
    s = open_session("serve", cfg, {})
    runs = from_runs.read_plan(cfg.adapters_from, cfg.model.name, cfg.adapters_tasks) if cfg.adapters_from else None
    cfg = from_runs.configure(cfg, runs) if runs else cfg
    n_check = max(48, cfg.validate_p99_requests)
    requests = from_runs.requests(runs, cfg.model.name, cfg.max_batch, n_check) if runs else None
    cfg = dataclasses.replace(cfg, tokens=requests.profile.shape[1]) if requests else cfg
    trained = from_runs.load_trained(runs, cfg, s.base) if runs else None
    s.prov["serve"] = dataclasses.asdict(cfg)
    s.prov["hidden_size"] = int(s.base.get_input_embeddings().weight.shape[1])
    s.prov["model_bytes"] = sum(t.numel() * t.element_size() for t in (*s.base.parameters(), *s.base.buffers()))
    if runs:
        s.prov.update(from_runs.provenance(runs, trained), **requests.record)
    rows: list[dict] = []
    ids = torch.randint(min(1000, s.vocab - 1), s.vocab, (8, cfg.tokens)).to(s.device)
    speed, base_work = speed_probe(s.base, ids, s.device)  # probed at each fleet's start and end: the drift
    for rank in cfg.ranks:
        for n in cfg.tasks_n:
            log(f"N = {n}: building {n} adapters (rank {rank}) on {s.spec.name}")
            state = machine.at_start()
            fleet, problem = build_fleet(
                s.base,
                n,
                s.device,
                rank=rank,
                virtual_tokens=cfg.virtual_tokens,
                target_modules=list(runs.lora_targets) if runs and runs.lora_targets else target_modules(cfg, s.spec),
                seed=cfg.seed,
                trained=trained,
                forms=forms_for(cfg.strategies),
            )
            if problem:
                log(f"N = {n}: the fleet could not be built: {problem[0]}: {problem[1]}")
                new = [_failed(s.prov, cfg, s.spec, st, n, rank, problem) for st in cfg.strategies]
            else:
                try:
                    speed.measure(base_work)
                    new = _serve_fleet(cfg, s.spec, fleet, s.prov, s.vocab, log, requests)
                    speed.measure(base_work)
                    if runs:
                        from_runs.mark_trained(new, fleet)
                finally:
                    fleet.close()
            state.update(machine.at_end(), base_drift_pct=speed.drift_pct())
            new = [{**r, **state} for r in new]
            store.append_rows(output, new)
            rows += new
    return rows


def _serve_fleet(cfg: ServeConfig, spec, fleet, prov: dict, vocab: int, log, requests=None) -> list[dict]:
    device, n = fleet.device, fleet.n
    gen = torch.Generator().manual_seed(cfg.seed + n)
    low = 1000 if vocab > 2000 else min(5, vocab - 1)
    servers = {s: SERVERS[s](fleet) for s in cfg.strategies}
    sizes = tuple(b for b in sorted({1, cfg.max_batch, *cfg.profile.batch_sizes}) if b <= cfg.max_batch)
    pcfg = dataclasses.replace(cfg.profile, batch_sizes=sizes, tokens=cfg.tokens)
    inputs = torch.randint(low, vocab, (cfg.max_batch, cfg.tokens), generator=gen).to(device)
    inputs = requests.profile.to(device) if requests is not None else inputs  # the runs' test inputs
    log(f"N = {n}: profiling {len(servers)} strategies, batch sizes {sizes}")
    raised: dict[str, Exception] = {}
    prof = profile(servers, inputs, n, pcfg, failed=raised)
    failed = {s: failure(e) for s, e in raised.items()}
    slo = slo_ms(cfg, prof["base"]["service"] if "base" in prof else None) if cfg.slo_ms or "base" in prof else None
    stream = arrivals.stream(cfg.sim_requests, n, cfg.arrivals, cfg.cv, cfg.popularity, cfg.alpha, cfg.seed)
    n_check = max(48, cfg.validate_p99_requests)
    check = arrivals.stream(n_check, n, cfg.arrivals, cfg.cv, cfg.popularity, cfg.alpha, cfg.seed + 1)
    check_inputs = torch.randint(low, vocab, (n_check, cfg.tokens), generator=gen).to(device)
    check_inputs = requests.check.to(device) if requests is not None else check_inputs
    rows = []
    for s, server in servers.items():
        problem = failed.get(s) or (
            None if slo else ("failed", f"no SLO: base did not run ({failed.get('base', ('', '?'))[1]})")
        )
        row = None
        if not problem:
            row, problem = attempt(_rate, cfg, spec, prov, s, server, n, slo, prof[s], stream, check, check_inputs)
        if problem:
            log(f"  {s:20} {problem[0]}: {problem[1]}")
            row = _failed(prov, cfg, spec, s, n, fleet.rank, problem)
        else:
            log(_line(s, row))
        rows.append(row)
    _ratios(rows)
    return rows


def _rate(cfg: ServeConfig, spec, prov, s, server, n, slo, prof, stream, check, check_inputs) -> dict:
    """One strategy's row: its rate at the SLO on the simulation, its curve, its real-time checks."""
    service = prof["service"]
    policy = Policy(server.mixed, cfg.max_batch, cfg.max_wait_ms / 1000)
    rate = rate_at_slo(stream, policy, service, slo, n)
    at_slo = at_rate(stream, rate, policy, service, slo) if rate > 0 else None
    curve = [{"rate_rps": r, **summary_dict(at_rate(stream, r, policy, service, slo))} for r in cfg.rates]
    checks = [
        _check(cfg, server, policy, service, f, rate, check, check_inputs, slo)
        for f in (cfg.validate if rate > 0 else ())
    ]
    return _row(cfg, spec, prov, s, server, n, slo, rate, at_slo, curve, checks, prof)


def _line(s: str, row: dict) -> str:
    """The log line of one strategy's rate at the SLO and its real-time checks."""
    return f"  {s:20} {row['rate_at_slo_rps']:8.3f} req/s at p99 <= {row['slo_ms']:.0f} ms" + "".join(
        f"; real-time at {c['rate_rps']:.2f}/s ({c['requests']} requests): p50 error {c['p50_err_pct']:+.1f} % "
        f"({c['p50_err_pct_drift_corrected']:+.1f} % at the run's speed x{c['service_drift']:.2f})"
        + (f", p99 error {c['p99_err_pct']:+.1f} %" if c["requests"] >= P99_REQUESTS else "")
        for c in row["validation"]
    )


def _check(cfg: ServeConfig, server, policy, service, fraction: float, rate: float, check, inputs, slo) -> dict:
    """One real-time run at `fraction` of the rate at the SLO, and the simulation of the same requests: their
    latencies, the simulation's errors (simulated / real - 1) and the machine's drift during the run. At 1.0x
    it serves validate_p99_requests requests (a p99 needs at least P99_REQUESTS), below it 8-48."""
    r = fraction * rate
    if fraction >= 1.0 and cfg.validate_p99_requests:
        k = cfg.validate_p99_requests
    else:
        k = int(min(48, max(8, round(r * cfg.validate_seconds))))
    sub = check.head(k)
    times = sub.arrivals(r)
    served, batches = realtime.run(server, inputs[:k], times, sub.tasks, policy)
    real = summarize(times, served.finish, slo)
    sim = summarize(times, simulate(times, sub.tasks, policy, service).finish, slo)
    batch_drift, swap_drift = realtime.drift(service, batches)
    fixed = summarize(
        times, simulate(times, sub.tasks, policy, realtime.scaled(service, batch_drift, swap_drift)).finish, slo
    )
    err = lambda a, b: 100 * (a / b - 1)  # noqa: E731
    return {
        "fraction": fraction,
        "rate_rps": r,
        "requests": k,
        "real": summary_dict(real),
        "sim": summary_dict(sim),
        "p50_err_pct": err(sim.p50_ms, real.p50_ms),
        "p99_err_pct": err(sim.p99_ms, real.p99_ms),  # a p99 of fewer than P99_REQUESTS requests is a rough one
        "throughput_err_pct": err(sim.throughput_rps, real.throughput_rps),
        # the machine's speed during the real run against the profile (shared machines drift),
        # and the simulation's error once its service times are scaled by that drift
        "service_drift": batch_drift,
        "swap_drift": swap_drift,
        "p50_err_pct_drift_corrected": err(fixed.p50_ms, real.p50_ms),
        "p99_err_pct_drift_corrected": err(fixed.p99_ms, real.p99_ms),
        "throughput_err_pct_drift_corrected": err(fixed.throughput_rps, real.throughput_rps),
        "real_batches": [list(x) for x in batches],
    }


def at_slo_check(checks: list[dict]) -> dict | None:
    """The validation run at 1.0x the rate at the SLO with enough requests for a p99, if there was one."""
    return next((c for c in checks if c["fraction"] >= 1.0 and c["requests"] >= P99_REQUESTS), None)


def _row(cfg, spec, prov, strategy, server, n, slo, rate, at_slo, curve, checks, prof) -> dict:
    service = prof["service"]
    errors = [abs(c["p50_err_pct"]) for c in checks]
    full = at_slo_check(checks)
    return {
        **prov,
        "run_id": new_run_id(),  # one per row
        "status": "ok",
        "error": None,
        **setting(cfg, spec, strategy, n, server.fleet.rank),
        "slo_ms": slo,
        "slo_rule": slo_rule(cfg),
        "rate_at_slo_rps": rate,
        "at_slo": summary_dict(at_slo) if at_slo else None,
        "batch_ms_full": service.batch_time_ms(cfg.max_batch, min(cfg.max_batch, n)),
        "swap_ms_p50": service.swap_ms if not server.mixed else None,
        "service_ms": {f"{b},{d}": ms for b, per in service.batch_ms.items() for d, ms in per.items()},
        "service_samples": prof["samples"],
        "swap_ms_samples": prof["swap_samples"],
        "adapter_bytes_resident": server.resident_bytes(),
        "curve": curve,
        "validation": checks,
        "sim_p50_err_pct_max": max(errors) if errors else None,
        "sim_p50_err_pct": full["p50_err_pct"] if full else None,
        "sim_p99_err_pct": full["p99_err_pct"] if full else None,
        "sim_p99_requests": full["requests"] if full else None,
        "sim_requests": cfg.sim_requests,
    }


def _ratios(rows: list[dict]) -> None:
    """Each row's rate at the SLO relative to base and merge_swap on the same fleet (None: not run or 0)."""
    rows = [r for r in rows if r["status"] == "ok"]
    by = {r["strategy"]: r["rate_at_slo_rps"] for r in rows}
    for r in rows:
        for ref in ("base", "merge_swap"):
            r[f"rate_vs_{ref}"] = r["rate_at_slo_rps"] / by[ref] if by.get(ref) else None


def median_error(rows: list[dict], key: str = "p50_err_pct") -> float | None:
    """Median |error| of the simulation over every validation run (key: p50_err_pct, throughput_err_pct,
    or either with _drift_corrected)."""
    errs = [abs(c[key]) for r in rows for c in r.get("validation") or [] if c.get(key) is not None]
    return float(np.median(errs)) if errs else None
