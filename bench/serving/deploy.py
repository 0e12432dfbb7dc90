"""The deployment decision (pure): N tasks at R requests/s under a p99 latency target, within a memory limit,
at an accuracy floor. Every trained method is paired with every strategy that can serve it (SERVES); each pair
gets the method's accuracy (run rows), the highest rate at the SLO at N tasks and the resident memory for N
tasks (serve rows), and whether it meets the constraints.

- Accuracy: the selected setting's healthy run (bench/analysis/health.py), with its interval; the margin to the
  most accurate pair is paired over the same test examples (exact McNemar on `test_correct`). The runs it does
  not read are said, each flagged one on its own line with the health check's words (`left_out`).
- Rate: the serve row's rate at its SLO; at another SLO it is searched again on the row's own profiled
  service times and arrival stream (bench/serving/search.py), the simulation `serve` itself ran.
- Full fine-tuning serves N model copies, which `serve` does not run: its rate is simulated on the base
  model's measured service times, one task per batch, no swap, and its memory is N times the model's; the
  pair carries that assumption as its `note`, which the output prints.
- The recommendation: among the pairs that meet the constraints, those whose accuracy the paired test cannot
  tell from the most accurate one's (p >= ALPHA), then the highest rate at the SLO (the most headroom).
  Missing evidence (no run of a method, no serve row at N) is said, with the command that measures it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from bench.analysis.fleets import MAX_P99_ERR_PCT, validation
from bench.analysis.significance import correct_vector, mcnemar
from bench.errors import BenchError
from bench.options import PROMPT_STRATEGIES, SERVE_STRATEGIES, STRATEGIES
from bench.rows.memory import fmt_bytes
from bench.serving.arrivals import stream
from bench.serving.evidence import check_n, left_out, model_of, runs_by_method, served_task, serves_at, split_rows
from bench.serving.policy import Policy
from bench.serving.search import rate_at_slo
from bench.serving.simulate import ServiceModel

COPIES = "model_copies"  # full fine-tuning: one model per task
SERVES = {  # method -> the strategies that can serve it, in table order
    "lora": tuple(s for s in STRATEGIES if s not in ("base", *PROMPT_STRATEGIES)),
    "prompt_tuning": PROMPT_STRATEGIES,
    "full": (COPIES,),
    "zero_shot": ("base",),
    "head_only": ("base",),
}
EXPECTED = {*SERVE_STRATEGIES, "prompt_swap", COPIES}  # listed as missing when not measured (the rest: when measured)
ALPHA = 0.05  # the paired test's level
CLOSE = 0.10  # rates closer than this are not told apart (the simulation's error against real-time runs)
UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}


def parse_bytes(text: str, flag: str = "--memory") -> int:
    """'2GB', '1.5 GiB', '512MiB', '2e9' -> bytes (k, M, G, T: powers of 1000; Ki, Mi, Gi, Ti: of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]i?)?b?\s*", str(text).lower())
    if not m or not 0 < float(m.group(1)) * UNITS[m.group(2) or ""] < 2**63:
        raise BenchError(f"{flag}: expected a size in bytes such as 2GB, 512MiB or 2000000000, got {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2) or ""])


@dataclass(frozen=True)
class Constraints:
    tasks_n: int
    rate: float  # requests per second, all tasks together
    slo_ms: float | None = None  # p99 latency target (None: the serve rows' own)
    memory: int | None = None  # resident bytes
    min_accuracy: float | None = None


@dataclass(frozen=True)
class Pair:
    method: str
    strategy: str
    accuracy: float | None
    ci: tuple[float, float] | None
    rate: float | None  # highest rate at the SLO at N tasks (req/s)
    slo_ms: float | None
    memory: int | None  # resident bytes for N tasks
    run_id: str | None
    serve_run_id: str | None
    missing: str = ""  # the evidence this pair lacks, with the command that would measure it
    misses: tuple[str, ...] = ()  # each constraint it does not meet, by how much
    shortfall: float = 0.0  # its largest relative shortfall (0: meets every constraint)
    gap: float | None = None  # accuracy - the most accurate pair's, paired over test examples
    p: float | None = None  # exact McNemar, two-sided, against the most accurate pair (None: its own run)
    note: str = ""  # an assumption its numbers rest on (full fine-tuning's N copies, simulated from base)

    @property
    def meets(self) -> bool:
        return not self.missing and not self.misses

    @property
    def name(self) -> str:
        return f"{self.method} + {self.strategy}"


def rate_at(row: dict, slo_ms: float | None, copies: bool = False) -> float:
    """The row's highest rate at `slo_ms` (its own rate when None or its own SLO): searched again on its profiled
    service times and arrival stream. copies: the base model's times served one task per batch, no swap."""
    if (slo_ms is None or abs(slo_ms - row["slo_ms"]) < 1e-9) and not copies:
        return float(row["rate_at_slo_rps"])
    cfg = row.get("serve") or {}
    table: dict[int, dict[int, float]] = {}
    for key, ms in row["service_ms"].items():
        b, d = (int(x) for x in key.split(","))
        table.setdefault(b, {})[d] = ms
    service = ServiceModel(table, 0.0 if copies else float(row.get("swap_ms_p50") or 0.0))
    n = int(row["n_tasks"])
    policy = Policy(False if copies else bool(row.get("mixed")), int(row["max_batch"]), row["max_wait_ms"] / 1000)
    s = stream(
        int(row.get("sim_requests") or cfg.get("sim_requests", 10000)),
        n,
        row.get("arrivals", "poisson"),
        float(row.get("cv", 1.0)),
        row.get("popularity", "zipf"),
        float(cfg.get("alpha", 1.0)),
        int(cfg.get("seed", 0)),
    )
    return rate_at_slo(s, policy, service, slo_ms or row["slo_ms"], n)


def model_bytes(serve: dict, run: dict | None) -> int | None:
    """The base model's resident bytes: the serve row's, else the run's parameter count at 4 bytes (fp32)."""
    if serve.get("model_bytes"):
        return int(serve["model_bytes"])
    return int(run["total_params"]) * 4 if run and run.get("total_params") else None


def serve_command(where: dict, n: int, strategies: list[str]) -> str:
    return (
        f"python -m bench serve --model {where['model']} --tasks-n {n} --strategies {','.join(strategies)} "
        f"--adapters-from {where['runs_file']} --set adapters_tasks={where['task']}"
    )


def run_command(where: dict, method: str) -> str:
    suite = f"--suite {where['suite']} " if where.get("suite") else ""
    return f"python -m bench run {suite}--model {where['model']} --tasks {where['task']} --methods {method}"


def _pair(method: str, strategy: str, run: dict | None, serve: dict | None, c: Constraints, where: dict) -> Pair:
    """One pair's numbers from its run and serve row (None: missing, said with the command that measures it)."""
    base = dict(accuracy=None, ci=None, rate=None, slo_ms=None, memory=None, run_id=None, serve_run_id=None)
    missing = []
    if run is None:
        healthy = "healthy " if method in where.get("flagged", ()) else ""
        why = " (its runs are flagged by the health checks: see left out)" if healthy else ""
        missing.append(f"no {healthy}run of {method}{why}: {run_command(where, method)}")
    else:
        lo, hi = run.get("accuracy_ci_low"), run.get("accuracy_ci_high")
        base.update(accuracy=run.get("accuracy"), ci=(lo, hi) if lo is not None else None, run_id=run.get("run_id"))
    if serve is None:
        want = ["base"] if strategy == COPIES else [strategy]
        missing.append(f"no serve row of {want[0]} at N = {c.tasks_n}: " + serve_command(where, c.tasks_n, want))
    else:
        n = c.tasks_n
        size = model_bytes(serve, run)
        extra = (n - 1) * size if strategy == COPIES and size else serve.get("adapter_bytes_resident") or 0
        if strategy == COPIES:
            base["note"] = copies_note(serve, run, n, size)
        base.update(
            rate=rate_at(serve, c.slo_ms, copies=strategy == COPIES),
            slo_ms=c.slo_ms or serve["slo_ms"],
            memory=size + extra if size else None,
            serve_run_id=serve.get("run_id"),
        )
    pair = Pair(method, strategy, **base, missing="; ".join(missing))
    return _judge(pair, c)


def copies_note(serve: dict, run: dict | None, n: int, size: int | None) -> str:
    """Full fine-tuning's assumption, in words: no serve row serves N model copies, so they are derived."""
    whose = "the serve row's model_bytes" if serve.get("model_bytes") else "the run's parameters at 4 bytes each"
    mem = f"{n} x {fmt_bytes(size)} ({whose})" if size else "unknown (no model_bytes, no parameter count)"
    return (
        f"no serve row serves {n} model copies: the rate is simulated on the base strategy's profiled service "
        f"times ({serve.get('run_id')}), one task per batch and no swap (each task has its own resident copy, "
        f"and the copies share the machine's compute as one model would); memory is {mem}"
    )


def _judge(p: Pair, c: Constraints) -> Pair:
    """The constraints the pair misses, each by how much, and its largest relative shortfall."""
    if p.missing:
        return p
    misses, short = [], [0.0]
    if p.rate is not None and p.rate < c.rate:
        misses.append(f"rate {p.rate:.2f} req/s, {c.rate - p.rate:.2f} below {c.rate:g}")
        short.append((c.rate - p.rate) / c.rate)
    if c.memory is not None and p.memory is not None and p.memory > c.memory:
        misses.append(f"memory {fmt_bytes(p.memory)}, {fmt_bytes(p.memory - c.memory)} over {fmt_bytes(c.memory)}")
        short.append((p.memory - c.memory) / c.memory)
    if c.memory is not None and p.memory is None:
        misses.append("memory unknown")
        short.append(float("inf"))
    if c.min_accuracy is not None and p.accuracy is not None and p.accuracy < c.min_accuracy:
        misses.append(f"accuracy {p.accuracy:.3f}, {c.min_accuracy - p.accuracy:.3f} below {c.min_accuracy:g}")
        short.append((c.min_accuracy - p.accuracy) / c.min_accuracy)
    return _replace(p, misses=tuple(misses), shortfall=max(short))


def _replace(pair: Pair, **kw) -> Pair:
    return dataclasses.replace(pair, **kw)


def mcnemar_p(a: dict | None, b: dict | None) -> float | None:
    """Two-sided exact McNemar p of two runs' per-example answers (None: no vectors of one length)."""
    va, vb = (correct_vector(r) if r else None for r in (a, b))
    if va is None or vb is None or len(va) != len(vb):
        return None
    t = mcnemar(va, vb)
    return min(1.0, 2 * min(t.p_worse, t.p_better))


def pairs(rows: list[dict], c: Constraints, runs_file: str = "RUNS.jsonl", task: str | None = None) -> list[Pair]:
    """Every trained method x every strategy that can serve it, judged against the constraints."""
    return _pairs(rows, c, runs_file, task)[0]


def _pairs(rows: list[dict], c: Constraints, runs_file: str, task: str | None):
    """(the pairs, the runs read by method, the lines saying which runs were left out and why)."""
    runs, serves = split_rows(rows)
    check_n(serves, c.tasks_n)
    task, by_method = runs_by_method(runs, task or served_task(serves))
    used = {str(r.get("run_id")) for m, r in by_method.items() if m in SERVES}
    out_lines, flagged = left_out(rows, task, used, SERVES)
    at_n = serves_at(serves, c.tasks_n)
    first = next(iter(by_method.values()))
    where = {"model": model_of(first), "task": task, "runs_file": runs_file, "suite": first.get("suite")}
    where["flagged"] = flagged
    out = []
    unrun = [m for m in ("lora", "prompt_tuning", "full", "zero_shot", *sorted(flagged)) if m not in by_method]
    unrun = list(dict.fromkeys(m for m in unrun if m in SERVES))
    for method in [m for m in SERVES if m in by_method] + unrun:
        for strategy in SERVES[method]:
            serve = at_n.get("base" if strategy == COPIES else strategy)
            if serve is None and strategy not in EXPECTED:
                continue  # strategies serve skips by default (cold loads, compiled hotswap): listed when measured
            out.append(_pair(method, strategy, by_method.get(method), serve, c, where))
    best = max((p for p in out if p.accuracy is not None), key=lambda p: p.accuracy, default=None)
    if best is not None:
        out = [
            _replace(p, gap=p.accuracy - best.accuracy, p=_p_vs(by_method, p.method, best.method))
            if p.accuracy is not None
            else p
            for p in out
        ]
    return out, by_method, out_lines


def _p_vs(by_method: dict[str, dict], method: str, best: str) -> float | None:
    """The paired test against the most accurate method's run (None for that run itself: nothing to test)."""
    return None if method == best else mcnemar_p(by_method.get(method), by_method.get(best))


@dataclass(frozen=True)
class Decision:
    pairs: tuple[Pair, ...]
    chosen: Pair | None
    runner_up: Pair | None
    separation: str  # what separates the two: the paired test and the rate ratio, in words
    closest: str  # no pair meets the constraints: the closest and what it misses by
    exit_code: int  # 0: a recommendation; 1: nothing meets the constraints
    rival: Pair | None = None  # the next pair of another method, when the runner-up is the chosen method's
    rival_separation: str = ""
    left_out: tuple[str, ...] = ()  # the runs not read, and why (health flags, sweeps, seeds, random weights)
    sim_check: str = ""  # how far the simulated rates were checked against real-time runs, in words


def _tied(p: Pair) -> bool:
    """Its accuracy cannot be told from the most accurate pair's (same run, or paired p >= ALPHA)."""
    return p.gap == 0 or (p.p is not None and p.p >= ALPHA)


def _order(ps: list[Pair]) -> list[Pair]:
    """Tied with the most accurate: the fastest first; the rest: the most accurate first, then the fastest."""
    acc, rate = (lambda p: -(p.accuracy or 0.0)), (lambda p: -(p.rate or 0.0))  # noqa: E731
    return sorted(ps, key=lambda p: (0, rate(p), acc(p)) if _tied(p) else (1, acc(p), rate(p)))


def separation(a: Pair, b: Pair, runs: dict[str, dict]) -> str:
    """The paired accuracy test and the rate ratio between the chosen pair and the runner-up, in words."""
    ratio = f"rate ratio {a.rate / b.rate:.2f}x" if a.rate and b.rate else "rate ratio undefined (a rate of 0)"
    if a.method == b.method:
        acc = "the same trained weights (one accuracy)"
    else:
        p = mcnemar_p(runs.get(a.method), runs.get(b.method))
        n = len(correct_vector(runs[a.method]) or "") if a.method in runs else 0
        gap = (a.accuracy or 0) - (b.accuracy or 0)
        if p is None:
            acc = f"accuracy {gap:+.3f}, no per-example answers of both runs on the same test examples: not tested"
        else:
            word = "separates them" if p < ALPHA else "cannot separate them"
            acc = f"accuracy {gap:+.3f}, exact McNemar over {n} paired test examples p = {p:.2g}: the test {word}"
    close = a.rate and b.rate and a.rate / b.rate < 1 + CLOSE
    if close and "separates" not in acc:
        return f"{acc}; {ratio}: the data cannot separate them (rates within {CLOSE:.0%}, a simulation's error)"
    return f"{acc}; {ratio}"


def sim_check(rows: list[dict], ps: list[Pair]) -> tuple[str, set[str]]:
    """What the pairs' rates rest on: the simulation's p99 error at 1.0x each rate against a real-time run of the
    same loop (fleets.validation), or that no such run was made, in one line ("" when no pair has a serve row);
    and the serve run ids whose rate is not verified."""
    ids = {p.serve_run_id for p in ps if p.serve_run_id}
    serves = [r for r in rows if r.get("run_id") in ids]
    if not serves:
        return "", set()
    checks = {r["strategy"]: validation(r) for r in serves}
    shaky = {r["run_id"] for r in serves if not checks[r["strategy"]].verified}
    known = {s: v for s, v in checks.items() if v.p99_err_pct is not None}
    if not known:
        return (
            "the rates are the simulation's on profiled service times, never checked against a real-time run at "
            "1.0x the rate (serve without --no-validate checks them): how far off they are is unknown"
        ), shaky
    errs = sorted(v.p99_err_pct for v in known.values())
    bad = sorted(s for s, v in known.items() if not v.verified)
    unchecked = sorted(set(checks) - set(known))
    n = max(v.requests or 0 for v in known.values())
    text = (
        f"simulated p99 at 1.0x each rate against a real-time run ({n} requests): {errs[0]:+.0f} % to "
        f"{errs[-1]:+.0f} % off (negative: real latency higher, the rate optimistic)"
    )
    if bad:
        text += f"; beyond {MAX_P99_ERR_PCT:.0f} %, so not verified: {', '.join(bad)}"
    if unchecked:
        text += f"; never checked: {', '.join(unchecked)}"
    return text, shaky


def decide(rows: list[dict], c: Constraints, runs_file: str = "RUNS.jsonl", task: str | None = None) -> Decision:
    ps, runs, out = _pairs(rows, c, runs_file, task)
    checked, shaky = sim_check(rows, ps)
    ok = _order([p for p in ps if p.meets])
    if ok:
        chosen, runner = ok[0], ok[1] if len(ok) > 1 else None
        text = separation(chosen, runner, runs) if runner else "no other pair meets the constraints"
        if runner and {chosen.serve_run_id, runner.serve_run_id} & shaky:
            text += " (a rate that is not verified in real time: see simulation)"
        rival = (
            next((p for p in ok if p.method != chosen.method), None)
            if runner and runner.method == chosen.method
            else None
        )
        far = separation(chosen, rival, runs) if rival else ""
        return Decision(tuple(ps), chosen, runner, text, "", 0, rival, far, out, checked)
    measured = [p for p in ps if not p.missing]
    if not measured:
        return Decision(
            tuple(ps),
            None,
            None,
            "",
            "no pair has the evidence to judge: see the missing rows",
            1,
            left_out=out,
            sim_check=checked,
        )
    near = min(measured, key=lambda p: (p.shortfall, -(p.accuracy or 0)))
    closest = f"closest: {near.name}, which misses by {'; '.join(near.misses)}"
    return Decision(tuple(ps), None, None, "", closest, 1, left_out=out, sim_check=checked)


def table(d: Decision) -> list[dict]:
    """The deployment table as plain dicts (one per pair), for terminals, reports and the explorer."""
    out = []
    for p in d.pairs:
        out.append(
            {
                "method": p.method,
                "strategy": p.strategy,
                "accuracy": p.accuracy,
                "accuracy_ci": list(p.ci) if p.ci else None,
                "accuracy_gap": p.gap,
                "accuracy_p": p.p,
                "rate_at_slo_rps": p.rate,
                "slo_ms": p.slo_ms,
                "memory_bytes": p.memory,
                "meets": p.meets,
                "misses": list(p.misses),
                "missing": p.missing,
                "note": p.note,
                "recommended": d.chosen is not None and p == d.chosen,
                "runner_up": d.runner_up is not None and p == d.runner_up,
                "run_id": p.run_id,
                "serve_run_id": p.serve_run_id,
            }
        )
    return out
