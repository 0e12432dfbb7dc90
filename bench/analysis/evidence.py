"""What the claims read their evidence from and what they give (pure): the Claim and its verdicts,
switching rows of one comparable slice, per-batch time samples and a one-sided test of "slower", full
fine-tuning's update spectra, and the number formats the evidence sentences use."""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.aggregate import switch_rows
from bench.analysis.selection import main_rows
from bench.rows.schema import kind_of

HOLDS, CAVEATS, FAILS, NOT_MEASURED = "holds", "holds with caveats", "does not hold", "not measured in this run"
# the evidence exists but cannot carry a verdict: a simulated rate whose error against real time is too large or
# unknown (UNVERIFIED); a difference inside the spread of its repeats (UNDECIDED)
UNVERIFIED, UNDECIDED = "unverified", "cannot decide"
VERDICTS = (HOLDS, CAVEATS, FAILS, UNVERIFIED, UNDECIDED, NOT_MEASURED)


@dataclass(frozen=True)
class Claim:
    number: int
    title: str
    statement: str
    verdict: str
    evidence: tuple[str, ...] = ()


SWAPPING_LORA = ("merge_swap", "set_adapter", "hotswap", "hotswap_compiled", "load_cold", "load_warm")
MIXED_LORA = ("peft_mixed_batch", "gathered_lora")


def ok_switch(rows: list[dict]) -> list[dict]:
    return [r for r in switch_rows(rows) if r.get("status", "ok") == "ok"]


def spectra(rows: list[dict]) -> list[dict]:
    """The ok run rows (selected settings only) that recorded full fine-tuning's update spectrum."""

    return [r for r in main_rows(rows) if kind_of(r) == "run" and r.get("status") == "ok" and r.get("update_spectrum")]


def comparable_slice(rows: list[dict]) -> list[dict]:
    """Switching rows of one comparable slice: largest batch, uniform popularity and short inputs when
    present, shuffled order when present (the mixed stream the claims are about)."""
    ok = [r for r in ok_switch(rows) if r.get("overhead_vs_base_pct") is not None]
    if not ok:
        return []
    batch = max(r["batch_size"] for r in ok)
    ok = [r for r in ok if r["batch_size"] == batch]
    for key, preferred in (("popularity", "uniform"), ("length", "short"), ("order", "shuffled")):
        if any(r.get(key) == preferred for r in ok):
            ok = [r for r in ok if r.get(key) == preferred]
    return ok


def at(view: list[dict], strategy: str, n: int) -> dict | None:
    """The row of `strategy` at N = n tasks in a slice, if any."""
    return next((r for r in view if r["strategy"] == strategy and r["n_tasks"] == n), None)


def slice_label(r: dict) -> str:
    return f"N={r['n_tasks']}, batch {r['batch_size']}, {r['order']} order"


def batch_samples(rows: list[dict], strategy: str, n: int) -> list[float]:
    """Per-batch forward times (swaps excluded) of a strategy at N tasks, pooled over every slice."""
    return [
        x
        for r in ok_switch(rows)
        if r["strategy"] == strategy and r["n_tasks"] == n
        for x in r.get("batch_ms_samples") or []
    ]


def overhead_range(row: dict, base: dict | None) -> tuple[float, float]:
    """The spread of a switch row's time against the base model's over their repeats, in % (pure): from its
    fastest repeat against the base model's slowest to its slowest against the base model's fastest. One
    repeat (or no base samples): the medians' overhead, twice."""
    own, ref = row.get("total_ms_samples") or [], (base or {}).get("total_ms_samples") or []
    if len(own) < 2 or len(ref) < 2:
        return row["overhead_vs_base_pct"], row["overhead_vs_base_pct"]
    return 100 * (min(own) / max(ref) - 1), 100 * (max(own) / min(ref) - 1)


def fmt_spread(row: dict, base: dict | None) -> str:
    lo, hi = overhead_range(row, base)
    k = min(len(row.get("total_ms_samples") or []), len((base or {}).get("total_ms_samples") or []))
    return f"spread over {k} repeats {lo:+.1f} to {hi:+.1f} %" if k > 1 else "one repeat: no spread"


def slower_than(samples: list[float], reference: list[float]) -> tuple[float, float]:
    """(ratio of medians, one-sided Mann-Whitney p that `samples` are slower) (pure)."""
    import statistics

    from scipy.stats import mannwhitneyu

    ratio = statistics.median(samples) / statistics.median(reference)
    p = (
        float(mannwhitneyu(samples, reference, alternative="greater").pvalue)
        if len(samples) > 1 and len(reference) > 1
        else 1.0
    )
    return ratio, p


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_rate(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def fmt_acc(rec: dict) -> str:
    if rec.get("accuracy_ci_low") is None:
        return f"{rec['accuracy']:.3f}"
    return f"{rec['accuracy']:.3f} [{rec['accuracy_ci_low']:.3f}, {rec['accuracy_ci_high']:.3f}]"
