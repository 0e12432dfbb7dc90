"""The deployment decision as terminal text (pure): one line per (method, strategy) pair, then the
recommendation, the runner-up and what separates them, or the closest pair and what it misses by."""

from __future__ import annotations

from bench.errors import BenchError
from bench.rows.memory import fmt_bytes
from bench.rows.schema import kind_of
from bench.serving.deploy import Constraints, Decision, Pair, decide, table
from bench.serving.evidence import model_of, served_task


def _acc(p: Pair) -> str:
    if p.accuracy is None:
        return "-"
    ci = f" [{p.ci[0]:.3f}, {p.ci[1]:.3f}]" if p.ci else ""
    return f"{p.accuracy:.3f}{ci}"


def _gap(p: Pair) -> str:
    if p.gap is None:
        return "-"
    if p.gap == 0 and p.p is None:
        return "best"
    return f"{p.gap:+.3f}" + (f" (p = {p.p:.2g})" if p.p is not None else "")


def _verdict(p: Pair) -> str:
    if p.missing:
        return "no evidence"
    return "yes" if p.meets else "no: " + "; ".join(p.misses)


def constraints_line(c: Constraints) -> str:
    parts = [f"N = {c.tasks_n} tasks", f"{c.rate:g} req/s"]
    parts.append(f"p99 <= {c.slo_ms:g} ms" if c.slo_ms else "p99 <= the serve rows' SLO")
    if c.memory is not None:
        parts.append(f"memory <= {fmt_bytes(c.memory)}")
    if c.min_accuracy is not None:
        parts.append(f"accuracy >= {c.min_accuracy:g}")
    return "deployment: " + ", ".join(parts)


def render(d: Decision, c: Constraints) -> str:
    rows = [
        ("method + strategy", "accuracy [95 % CI]", "vs most accurate (McNemar p)", "req/s at SLO", "memory", "meets")
    ]
    for p in d.pairs:
        rate = "-" if p.rate is None else f"{p.rate:.2f}"
        mem = "-" if p.memory is None else fmt_bytes(p.memory)
        rows.append((p.name, _acc(p), _gap(p), rate, mem, _verdict(p)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [constraints_line(c), ""]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r[:5], widths)) + "  " + r[5] for r in rows]
    slos = sorted({p.slo_ms for p in d.pairs if p.slo_ms})
    if slos:
        lines.append(
            f"SLO: p99 latency <= {', '.join(f'{s:.0f} ms' for s in slos)} (simulated on profiled service times)"
        )
    if d.sim_check:
        lines.append(f"simulation: {d.sim_check}")
    lines.append("")
    for text in d.left_out:
        lines.append(f"left out: {text}")
    for p in d.pairs:
        if p.note:
            lines.append(f"assumed for {p.name}: {p.note}")
    for p in d.pairs:
        if p.missing:
            lines.append(f"missing evidence for {p.name}: {p.missing}")
    if d.chosen:
        lines.append(f"recommended: {d.chosen.name} ({_acc(d.chosen)}, {d.chosen.rate:.2f} req/s at the SLO)")
        if d.runner_up:
            lines.append(
                f"runner-up:   {d.runner_up.name} ({_acc(d.runner_up)}, {d.runner_up.rate:.2f} req/s at the SLO)"
            )
        lines.append(f"between them: {d.separation}")
        if d.rival:
            lines.append(
                f"best of another method: {d.rival.name} ({_acc(d.rival)}, {d.rival.rate:.2f} req/s at the SLO)"
            )
            lines.append(f"between {d.chosen.name} and it: {d.rival_separation}")
        lines.append(
            "rule: among the pairs that meet the constraints, those whose accuracy the paired test cannot tell from "
            "the most accurate one's, then the highest rate at the SLO"
        )
    else:
        lines.append(f"no pair meets the constraints; {d.closest}")
    return "\n".join(lines)


def deploy_section(rows: list[dict]) -> dict | None:
    """The report's deployment tables: at each served N, every pair with its accuracy, rate at the serve rows'
    SLO and memory, the fastest of the most accurate marked (no rate or memory limit: a report has no user's
    constraints), the runs left out and the assumptions. The model is the one whose pretrained weights the
    serve rows served and whose runs the rows hold (the first by name, if several); None when there is none."""
    served = sorted(
        {model_of(r) for r in rows if kind_of(r) == "serve" and r.get("status", "ok") == "ok"}
        & {model_of(r) for r in rows if kind_of(r) == "run" and r.get("status") == "ok"}
    )
    for model in served:
        own = [r for r in rows if model_of(r) == model]
        serves = [r for r in own if kind_of(r) == "serve" and r.get("status", "ok") == "ok"]
        runs = [r for r in own if kind_of(r) == "run" and r.get("status") == "ok"]
        task = served_task(serves) or str(runs[0].get("task"))
        tables, left, notes = [], [], []
        for n in sorted({int(r["n_tasks"]) for r in serves}):
            try:
                d = decide(own, Constraints(tasks_n=n, rate=1e-9), "RUNS.jsonl", task=task)
            except BenchError:
                continue
            why = d.separation
            tables.append({"n": n, "rows": table(d), "chosen": d.chosen.name if d.chosen else None, "why": why})
            left = left or list(d.left_out)
            notes += [f"N = {n}: {p.note}" for p in d.pairs if p.note]
            notes += [f"N = {n}: simulation: {d.sim_check}"] if d.sim_check else []
        if tables:
            return {"model": model, "task": task, "tables": tables, "left_out": left, "notes": notes}
    return None
