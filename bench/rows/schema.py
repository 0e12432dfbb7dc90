"""What a result row is: its schema version, statuses and kinds, and the one table of metrics, each declared
once with its direction, unit, category, display and the tables and figures that show it. Readers (aggregate,
compare, the terminal and HTML tables, figures) read this table, so adding a metric is: compute it, declare it
here (what a metric is: bench/rows/metric.py). A row's other fields, and the provenance every new row starts with, are in bench/rows/fields.py."""

from __future__ import annotations

from collections.abc import Callable

from bench.rows.memory import fmt_bytes
from bench.rows.metric import Metric, fmt_count, fmt_ms, mib, whole

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "oom", "killed", "unsupported", "cancelled", "timeout")
KINDS = (
    "run",
    "switch",
    "serve",
)  # a run of one method on one task; one (workload, strategy) of the switching sweep; one (strategy, N) of `bench serve`


def kind_of(row: dict) -> str:
    """A row's kind: its `kind`, or "run" for the oldest rows, written before there was another kind."""
    return row.get("kind", "run")


METRICS: tuple[Metric, ...] = (
    # ------------------------------------------------------------------ quality
    Metric(
        "accuracy",
        "higher",
        "fraction",
        "accuracy",
        "share of test examples answered right (exact match of the generated answer on generation tasks)",
        header="accuracy (95% CI)",
        format="{:.3f}",
        verdict="interval",
        table=True,
        history="accuracy",
        terminal="accuracy (95% CI)",
    ),
    Metric("macro_f1", "higher", "fraction", "accuracy", "F1 averaged over the task's classes (classification)"),
    Metric(
        "val_accuracy",
        "higher",
        "fraction",
        "accuracy",
        "the task's metric on the validation split (what a sweep selects its setting by)",
    ),
    Metric(
        "score",
        "higher",
        "fraction",
        "accuracy",
        "the task's own metric (the row's `metric`) on the test split, 0-1",
        header="task metric",
        format="{:.3f}",
        verdict="interval",
        generation=True,
    ),
    Metric(
        "exact_match",
        "higher",
        "fraction",
        "accuracy",
        "share of generated answers equal to a reference (generation)",
        header="exact match",
        format="{:.3f}",
        generation=True,
    ),
    Metric(
        "rougeL",
        "higher",
        "fraction",
        "accuracy",
        "mean ROUGE-L F-measure against the best reference (generation)",
        header="ROUGE-L",
        format="{:.3f}",
        generation=True,
    ),
    Metric(
        "bleu",
        "higher",
        "fraction",
        "accuracy",
        "corpus BLEU / 100 (generation)",
        header="BLEU",
        format="{:.3f}",
        generation=True,
    ),
    # ------------------------------------------------------------------ what is trained and kept
    Metric(
        "trainable_params",
        "lower",
        "params",
        "params",
        "parameters the method trains",
        type=int,
        header="trainable params (%)",
        format=fmt_count,
        verdict="exact",
        table=True,
        terminal="trainable",
    ),
    Metric(
        "trainable_pct",
        "lower",
        "%",
        "params",
        "trainable parameters as a percentage of all",
        format="{:.3g}",
        terminal="%",
        terminal_format="{:.2f}",
    ),
    Metric("total_params", None, "params", "params", "all parameters of the model as built", type=int, verdict="exact"),
    Metric(
        "adapter_bytes",
        "lower",
        "bytes",
        "params",
        "bytes on disk a user keeps per task: the saved adapter, or a baseline's trained tensors",
        type=int,
        header="adapter size",
        format=fmt_bytes,
        verdict="size",
        table=True,
    ),
    # ------------------------------------------------------------------ training clocks
    Metric(
        "train_tokens_per_s",
        "higher",
        "tokens/s",
        "timing",
        "real (non-pad) training tokens per second over the timed steps (warm-up excluded)",
        header="train tok/s",
        format="{:,.0f}",
        table=True,
        history="train tokens/s",
        terminal="train tok/s",
        terminal_format=whole,
    ),
    Metric(
        "train_tokens_per_s_effective",
        "higher",
        "tokens/s",
        "timing",
        "training tokens per second counting a soft prompt's virtual tokens",
    ),
    Metric(
        "train_step_ms_p50",
        "lower",
        "ms",
        "timing",
        "median time of one timed training step",
        format=fmt_ms,
        samples="train_step_ms_samples",
        verdict="timing",
    ),
    Metric("train_step_ms_iqr", "lower", "ms", "timing", "interquartile range of the timed training steps"),
    # ------------------------------------------------------------------ classification inference clocks
    Metric(
        "infer_tokens_per_s",
        "higher",
        "tokens/s",
        "timing",
        "input tokens per second at batch 1 (distinct requests)",
        header="infer tok/s b1",
        format="{:,.0f}",
        table=True,
        terminal="infer tok/s b1",
        terminal_format=whole,
        stand_in="gen_tokens_per_s",
    ),
    Metric(
        "infer_tokens_per_s_batch",
        "higher",
        "tokens/s",
        "timing",
        "real input tokens per second of one batch of infer_batch_size, repeated",
        header="infer tok/s bN",
        format="{:,.0f}",
        table=True,
        terminal="infer tok/s bN",
        terminal_format=whole,
        stand_in="gen_tokens_per_s_batch",
    ),
    Metric(
        "infer_latency_ms_p50",
        "lower",
        "ms",
        "timing",
        "median latency of one request at batch 1",
        header="latency p50 ms",
        format="{:.2f}",
        samples="infer_latency_ms_samples",
        verdict="timing",
        table=True,
        history="latency p50 ms",
    ),
    Metric("infer_latency_ms_p95", "lower", "ms", "timing", "95th percentile latency of one request at batch 1"),
    Metric(
        "infer_batch_ms_p50",
        "lower",
        "ms",
        "timing",
        "median time of one batch of infer_batch_size",
        samples="infer_batch_ms_samples",
        verdict="timing",
    ),
    Metric(
        "peak_mem_bytes",
        "lower",
        "bytes",
        "memory",
        "peak memory: the device's allocator on CUDA, the whole process's peak RSS on CPU (Python and torch included)",
        type=int,
        header="process peak memory",
        format=fmt_bytes,
        verdict="factor",
    ),
    Metric(
        "peak_mem_own_bytes",
        "lower",
        "bytes",
        "memory",
        "the run's own peak memory: peak_mem_bytes less the memory resident before the model was built "
        "(mem_baseline_bytes; 0 on CUDA); derived so for rows written before it was recorded (bench/rows/memory.py)",
        type=int,
        header="peak memory (run's own)",
        format=fmt_bytes,
        table=True,
        terminal="own peak MiB",
        terminal_format=mib,
    ),
    # ------------------------------------------------------------------ the switching sweep (switch rows)
    Metric(
        "total_ms_p50",
        "lower",
        "ms",
        "timing",
        "median milliseconds to serve the whole workload",
        kind="switch",
        verdict="timing",
        samples="total_ms_samples",
    ),
    Metric(
        "switch_ms_p50",
        "lower",
        "ms",
        "timing",
        "median milliseconds of one adapter swap",
        kind="switch",
        verdict="timing",
        samples="switch_ms_samples",
    ),
    # ------------------------------------------------------------------ serving under load (serve rows)
    Metric(
        "rate_at_slo_rps",
        "higher",
        "requests/s",
        "timing",
        "the highest request rate whose simulated p99 latency meets the SLO",
        kind="serve",
        verdict="factor",
    ),
    Metric(
        "swap_ms_p50",
        "lower",
        "ms",
        "timing",
        "profiled milliseconds of one adapter swap",
        kind="serve",
        verdict="timing",
        samples="swap_ms_samples",
    ),
    Metric(
        "adapter_bytes_resident",
        "lower",
        "bytes",
        "memory",
        "bytes of adapter weights the strategy keeps in memory",
        kind="serve",
        type=int,
        format=fmt_bytes,
        verdict="size",
    ),
    # ------------------------------------------------------------------ generation clocks (fixed-length greedy decoding)
    Metric(
        "gen_ttft_ms_p50",
        "lower",
        "ms",
        "timing",
        "median time to the first generated token at batch 1",
        header="TTFT ms b1",
        format="{:.1f}",
        samples="gen_ttft_ms_samples",
        verdict="timing",
        generation=True,
    ),
    Metric("gen_ttft_ms_p95", "lower", "ms", "timing", "95th percentile time to the first token at batch 1"),
    Metric(
        "gen_tpot_ms_p50",
        "lower",
        "ms",
        "timing",
        "median time per output token after the first, at batch 1",
        header="ms / token b1",
        format="{:.2f}",
        generation=True,
    ),
    Metric("gen_tpot_ms_p95", "lower", "ms", "timing", "95th percentile time per output token at batch 1"),
    Metric(
        "gen_tokens_per_s",
        "higher",
        "tokens/s",
        "timing",
        "generated tokens per second at batch 1",
        header="out tok/s b1",
        format="{:,.0f}",
        generation=True,
    ),
    Metric(
        "gen_batch_ttft_ms_p50",
        "lower",
        "ms",
        "timing",
        "median time to the first token of one batch of gen_batch_size",
        header="TTFT ms bN",
        format="{:.1f}",
        generation=True,
    ),
    Metric("gen_batch_tpot_ms_p50", "lower", "ms", "timing", "median time per output token of one batch"),
    Metric(
        "gen_tokens_per_s_batch",
        "higher",
        "tokens/s",
        "timing",
        "generated tokens per second of one batch of gen_batch_size",
        header="out tok/s bN",
        format="{:,.0f}",
        generation=True,
    ),
    # ------------------------------------------------------------------ settings the clocks ran at
    Metric("gen_prompt_tokens_mean", None, "tokens", "workload", "mean prompt length of the timed batch-1 requests"),
    Metric("gen_new_tokens", None, "tokens", "workload", "tokens generated per request (eos ignored)", type=int),
    Metric("gen_batch_size", None, "requests", "workload", "requests in the timed generation batch", type=int),
    Metric(
        "virtual_tokens",
        "lower",
        "tokens",
        "params",
        "tokens a prompt-learning method prepends to every sequence (0 for the others)",
        type=int,
        header="virtual tokens",
        format="{:.0f}",
        generation=True,
    ),
)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def metrics(where: str | Callable[[Metric], bool] | None = None, **equal) -> tuple[Metric, ...]:
    """The declared metrics in declaration order (the order tables show them in): those whose attribute `where`
    is set (metrics("table"), metrics("samples")), or for which `where(metric)` is true, and whose attributes
    equal `equal` (metrics(verdict="exact"))."""
    keep = (lambda m: bool(getattr(m, where))) if isinstance(where, str) else where
    return tuple(m for m in METRICS if (keep is None or keep(m)) and all(getattr(m, k) == v for k, v in equal.items()))


def metric(name: str) -> Metric:
    return BY_NAME[name]


def direction(name: str) -> str | None:
    """Which way is better ("higher" or "lower"); None for a setting, or a field that is no metric."""
    m = BY_NAME.get(name)
    return m.direction if m else None


def category(name: str, default: str = "other") -> str:
    m = BY_NAME.get(name)
    return m.category if m else default
