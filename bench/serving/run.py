"""`python -m bench serve`: profile each strategy on the real model, find by simulation the highest
request rate that meets the SLO, validate the simulation against real-time runs -> rows of kind
"serve" (one per strategy and number of tasks)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.catalog import models, shapes
from bench.config import ModelOptions
from bench.errors import BenchError, choices
from bench.execute.device import resolve_device
from bench.execute.run import quiet_libraries
from bench.measure import environment, machine
from bench.rows import store
from bench.rows.fields import new_run_id, stamp
from bench.rows.validate import value_problem
from bench.serving import P99_REQUESTS, STRATEGIES, arrivals, from_runs, realtime
from bench.serving.policy import Policy
from bench.serving.profile import ProfileConfig, profile
from bench.serving.search import at_rate, rate_at_slo
from bench.serving.simulate import simulate, summarize
from bench.switching import fleet as fleets
from bench.switching.strategies import SERVERS, _sync, forms_for

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ServeConfig:
    name: str = "serve"  # rows record it as their suite
    # shape-only models (shape:<name>, random weights): their first `layers` layers (0: all), in `dtype`
    model: ModelOptions = field(default_factory=lambda: ModelOptions("shape:llama-3.2-1b", layers=2))
    strategies: tuple[str, ...] = STRATEGIES
    tasks_n: tuple[int, ...] = (64,)
    ranks: tuple[int, ...] = (16,)  # LoRA ranks: one fleet per rank and N
    targets: str = "attention"  # attention (q, k, v, o) or attention+mlp; other models: PEFT's defaults
    virtual_tokens: int = 20
    popularity: str = "zipf"
    alpha: float = 1.0  # Zipf exponent
    arrivals: str = "poisson"
    cv: float = 1.0  # Gamma arrivals: coefficient of variation of the gaps
    tokens: int = 16  # per request
    max_batch: int = 32
    max_wait_ms: float = 0.0
    slo_ms: float = 0.0  # 0: slo_factor x the base model's service time for a batch of max_batch
    slo_factor: float = 4.0
    rates: tuple[float, ...] = ()  # extra rates (req/s) at which every strategy's simulated latency is recorded
    sim_requests: int = 10000  # requests per simulation
    validate: tuple[float, ...] = (
        0.5,
        0.8,
        1.0,
    )  # real-time runs at these fractions of each strategy's rate at the SLO
    validate_seconds: float = 10.0  # of arrivals per real-time run below 1.0x (at least 8, at most 48 requests)
    validate_p99_requests: int = 200  # requests of the run at 1.0x: enough for a p99 (0: that run like the others)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    device: str = "auto"
    seed: int = 0
    # a results .jsonl of earlier runs of this model: their kept adapters and soft prompts fill the first slots
    # (the fleet at their rank, targets and virtual tokens) and the requests are their tasks' test inputs
    adapters_from: str = ""
    adapters_tasks: tuple[str, ...] = ()  # with adapters_from: only these tasks' runs (default: every task of the runs)


TARGETS = ("attention", "attention+mlp")


MAX_TASKS = 65_536  # adapters in one fleet


def validate(cfg: ServeConfig) -> None:
    problem = next((p for k, v in dataclasses.asdict(cfg).items() if (p := value_problem(v, k))), None)
    if problem:  # what a row records must be what its readers take
        raise BenchError(f"{problem}; every number must be finite and every integer within 64 bits")
    if max(cfg.tasks_n, default=0) > MAX_TASKS:
        raise BenchError(f"--tasks-n: at most {MAX_TASKS} tasks (adapters) in one fleet, got {max(cfg.tasks_n)}")
    bad = [s for s in cfg.strategies if s not in SERVERS]
    if bad or not cfg.strategies:
        raise BenchError(f"unknown strategy {bad[0] if bad else '(none)'!r}; valid: {choices(SERVERS)}")
    for what, value, valid in (
        ("popularity", cfg.popularity, arrivals.POPULARITIES),
        ("arrival process", cfg.arrivals, arrivals.PROCESSES),
        ("targets", cfg.targets, TARGETS),
        ("dtype", cfg.model.dtype, shapes.DTYPES),
    ):
        if value not in valid:
            raise BenchError(f"unknown {what} {value!r}; valid: {choices(valid)}")
    if not cfg.tasks_n or min(cfg.tasks_n) < 1:
        raise BenchError("--tasks-n: every number of tasks must be at least 1, e.g. 16,64")
    for what, value in (
        ("rank", min(cfg.ranks, default=0)),
        ("max batch", cfg.max_batch),
        ("tokens", cfg.tokens),
        ("sim requests", cfg.sim_requests),
    ):
        if value < 1:
            raise BenchError(f"{what} must be at least 1, got {value}")
    if cfg.slo_ms < 0 or cfg.slo_factor <= 0:
        raise BenchError(f"the SLO must be more than 0 ms, got slo_ms={cfg.slo_ms}, slo_factor={cfg.slo_factor}")
    if not cfg.slo_ms and "base" not in cfg.strategies:
        raise BenchError("without --slo-ms the SLO is a multiple of the base model's batch time: add base")
    if any(not r > 0 for r in cfg.rates):
        raise BenchError(f"--rates: every rate must be more than 0 requests per second, got {cfg.rates}")
    if any(not 0 < f <= 1 for f in cfg.validate):
        raise BenchError(f"validate: fractions of the rate at the SLO must be in (0, 1], got {cfg.validate}")
    if cfg.validate_p99_requests < 0:
        raise BenchError(f"validate_p99_requests must be at least 0, got {cfg.validate_p99_requests}")
    if cfg.cv <= 0 or cfg.alpha <= 0 or cfg.max_wait_ms < 0:
        raise BenchError("cv and alpha must be more than 0, max wait at least 0 ms")
    spec = models.resolve(cfg.model.name)
    if spec.shape:
        shapes.config_dict(spec.shape, cfg.model.layers)  # an unknown shape or too many layers: one line


def slo_ms(cfg: ServeConfig, base_service) -> float:
    """The p99 latency target: given, or slo_factor x the base model's service time for a full batch."""
    return cfg.slo_ms or cfg.slo_factor * base_service.batch_time_ms(cfg.max_batch, 1)


def target_modules(cfg: ServeConfig, spec) -> list[str] | None:
    if not spec.shape:
        return None  # PEFT's defaults for the architecture
    return list(ATTENTION + (MLP if cfg.targets == "attention+mlp" else ()))


def summary_dict(s) -> dict:
    return dataclasses.asdict(s)


def run_serve(cfg: ServeConfig, output: Path, log=print) -> list[dict]:
    validate(cfg)
    device = torch.device(resolve_device(cfg.device))
    quiet_libraries()
    base, spec = fleets.load_backbone(cfg.model.name, cfg.model.layers, cfg.model.dtype, device)
    runs = from_runs.read_plan(cfg.adapters_from, cfg.model.name, cfg.adapters_tasks) if cfg.adapters_from else None
    cfg = from_runs.configure(cfg, runs) if runs else cfg
    n_check = max(48, cfg.validate_p99_requests)
    requests = from_runs.requests(runs, cfg.model.name, cfg.max_batch, n_check) if runs else None
    cfg = dataclasses.replace(cfg, tokens=requests.profile.shape[1]) if requests else cfg
    trained = from_runs.load_trained(runs, cfg, base) if runs else None
    prov = {
        **stamp("serve", device.type),  # schema version, kind, time, git state, machine, package version
        "suite": cfg.name,
        "env": environment.environment(device),
        "serve": dataclasses.asdict(cfg),
    }
    vocab = base.get_input_embeddings().weight.shape[0]
    prov["hidden_size"] = int(base.get_input_embeddings().weight.shape[1])
    prov["model_bytes"] = sum(t.numel() * t.element_size() for t in (*base.parameters(), *base.buffers()))
    if runs:
        prov.update(from_runs.provenance(runs, trained), **requests.record)
    rows: list[dict] = []
    probe, probe_ids = machine.SpeedProbe(), torch.randint(min(1000, vocab - 1), vocab, (8, cfg.tokens)).to(device)

    @torch.inference_mode()
    def base_work():  # the base model's speed, probed at each fleet's start and end: the sweep's drift
        base(input_ids=probe_ids, attention_mask=torch.ones_like(probe_ids))
        _sync(device)

    for rank in cfg.ranks:
        for n in cfg.tasks_n:
            log(f"N = {n}: building {n} adapters (rank {rank}) on {spec.name}")
            state = machine.at_start()
            fleet = fleets.build(
                base,
                n,
                device,
                rank=rank,
                virtual_tokens=cfg.virtual_tokens,
                target_modules=list(runs.lora_targets) if runs and runs.lora_targets else target_modules(cfg, spec),
                seed=cfg.seed,
                trained=trained,
                forms=forms_for(cfg.strategies),
            )
            try:
                probe.measure(base_work)
                new = _serve_fleet(cfg, spec, fleet, prov, vocab, log, requests)
                probe.measure(base_work)
                if runs:
                    from_runs.mark_trained(new, fleet)
            finally:
                fleet.close()
            state.update(machine.at_end(), base_drift_pct=probe.drift_pct())
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
    prof = profile(servers, inputs, n, pcfg)
    slo = slo_ms(cfg, prof["base"]["service"] if "base" in prof else None)
    stream = arrivals.stream(cfg.sim_requests, n, cfg.arrivals, cfg.cv, cfg.popularity, cfg.alpha, cfg.seed)
    n_check = max(48, cfg.validate_p99_requests)
    check = arrivals.stream(n_check, n, cfg.arrivals, cfg.cv, cfg.popularity, cfg.alpha, cfg.seed + 1)
    check_inputs = torch.randint(low, vocab, (n_check, cfg.tokens), generator=gen).to(device)
    check_inputs = requests.check.to(device) if requests is not None else check_inputs
    rows = []
    for s, server in servers.items():
        service = prof[s]["service"]
        policy = Policy(server.mixed, cfg.max_batch, cfg.max_wait_ms / 1000)
        rate = rate_at_slo(stream, policy, service, slo, n)
        at_slo = at_rate(stream, rate, policy, service, slo) if rate > 0 else None
        curve = [{"rate_rps": r, **summary_dict(at_rate(stream, r, policy, service, slo))} for r in cfg.rates]
        checks = [
            _check(cfg, server, policy, service, f, rate, check, check_inputs, slo)
            for f in (cfg.validate if rate > 0 else ())
        ]
        log(
            f"  {s:20} {rate:8.3f} req/s at p99 <= {slo:.0f} ms"
            + "".join(
                f"; real-time at {c['rate_rps']:.2f}/s ({c['requests']} requests): p50 error {c['p50_err_pct']:+.1f} % "
                f"({c['p50_err_pct_drift_corrected']:+.1f} % at the run's speed x{c['service_drift']:.2f})"
                + (f", p99 error {c['p99_err_pct']:+.1f} %" if c["requests"] >= P99_REQUESTS else "")
                for c in checks
            )
        )
        rows.append(_row(cfg, spec, prov, s, server, n, slo, rate, at_slo, curve, checks, prof[s]))
    _ratios(rows)
    return rows


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
        "model": cfg.model.name,
        "weights": "random" if spec.shape else "pretrained",
        "layers": cfg.model.layers if spec.shape else None,
        "dtype": cfg.model.dtype,
        "strategy": strategy,
        "mixed": server.mixed,
        "n_tasks": n,
        "rank": server.fleet.rank,
        "targets": cfg.targets if spec.shape else "peft default",
        "popularity": cfg.popularity,
        "arrivals": cfg.arrivals,
        "cv": cfg.cv,
        "tokens_per_request": cfg.tokens,
        "max_batch": cfg.max_batch,
        "max_wait_ms": cfg.max_wait_ms,
        "slo_ms": slo,
        "slo_rule": "given" if cfg.slo_ms else f"{cfg.slo_factor:g} x base batch-{cfg.max_batch} service time",
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
    by = {r["strategy"]: r["rate_at_slo_rps"] for r in rows}
    for r in rows:
        for ref in ("base", "merge_swap"):
            r[f"rate_vs_{ref}"] = r["rate_at_slo_rps"] / by[ref] if by.get(ref) else None


def rows_table(rows: list[dict]) -> str:
    head = (
        f"{'strategy':20} {'N':>5} {'r':>3} {'req/s@SLO':>10} {'x base':>7} {'x merge':>8} {'p99 ms':>9} "
        f"{'batch ms':>9} {'swap ms':>8}  sim p50 error [at the run's measured speed] (rate)"
    )
    lines = [head]
    for r in rows:
        if r.get("kind") != "serve":
            continue
        ratio = [f"{r[k]:.2f}" if r.get(k) is not None else "-" for k in ("rate_vs_base", "rate_vs_merge_swap")]
        p99 = r["at_slo"]["p99_ms"] if r.get("at_slo") else float("nan")
        swap = f"{r['swap_ms_p50']:.1f}" if r.get("swap_ms_p50") is not None else "-"
        errs = ", ".join(
            f"{c['p50_err_pct']:+.0f} % [{c.get('p50_err_pct_drift_corrected', float('nan')):+.0f} %] "
            f"({c['rate_rps']:.2f}/s)"
            for c in r.get("validation") or []
        )
        if r.get("sim_p99_err_pct") is not None:
            errs += f"; p99 at the SLO rate {r['sim_p99_err_pct']:+.0f} % ({r['sim_p99_requests']} requests)"
        lines.append(
            f"{r['strategy']:20} {r['n_tasks']:>5} {r['rank']:>3} {r['rate_at_slo_rps']:>10.3f} {ratio[0]:>7} {ratio[1]:>8} "
            f"{p99:>9.0f} {r['batch_ms_full']:>9.1f} {swap:>8}  {errs or '-'}"
        )
    slos = {(r["n_tasks"], r["rank"]): r["slo_ms"] for r in rows if r.get("kind") == "serve"}
    if slos:
        each = ", ".join(f"{ms:.0f} ms (N = {n}, r = {rank})" for (n, rank), ms in slos.items())
        lines.append(f"SLO: p99 latency <= {each}; latency = queueing + service, simulated on profiled times")
    return "\n".join(lines)


def median_error(rows: list[dict], key: str = "p50_err_pct") -> float | None:
    """Median |error| of the simulation over every validation run (key: p50_err_pct, throughput_err_pct,
    or either with _drift_corrected)."""
    errs = [abs(c[key]) for r in rows for c in r.get("validation") or [] if c.get(key) is not None]
    return float(np.median(errs)) if errs else None
