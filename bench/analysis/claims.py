"""The seven claims of the note the project started from (docs/claims.md), each decided from result rows
by a pure function: claims 1-3 (what fine-tuning changes, what LoRA trains) in claims_training.py, claims
4-7 (serving one and many tasks) in claims_serving.py, each with its thresholds as named constants.

A verdict is one of VERDICTS; the evidence is the numbers behind it, as sentences. A claim whose
measurement is not in the rows (switching rows, rank spectra) is "not measured in this run", never
guessed; NEEDS says, as data, what each claim reads and which shipped suite or command writes it.
Only healthy rows decide: a run the health checks flag (one class answered, loss rose) supports no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.analysis import health
from bench.analysis.claims_serving import (
    MERGED_OVERHEAD_PCT,
    MIXED_OVERHEAD_PCT,
    PAIRED_ALPHA,
    claim_merge,
    claim_mixed_traffic,
    claim_one_task,
    claim_prompt_tuning,
)
from bench.analysis.claims_training import (
    LOW_RANK_ENERGY,
    PARAM_CUT,
    claim_fewer_params,
    claim_low_rank,
    claim_update,
)
from bench.analysis.evidence import CAVEATS, FAILS, HOLDS, NOT_MEASURED, UNDECIDED, UNVERIFIED, VERDICTS, Claim
from bench.analysis.selection import main_rows

__all__ = [
    "CAVEATS",
    "CLAIMS",
    "FAILS",
    "HOLDS",
    "LOW_RANK_ENERGY",
    "MERGED_OVERHEAD_PCT",
    "MIXED_OVERHEAD_PCT",
    "NEEDS",
    "NOT_MEASURED",
    "PAIRED_ALPHA",
    "PARAM_CUT",
    "UNDECIDED",
    "UNVERIFIED",
    "VERDICTS",
    "Claim",
    "Need",
    "assess",
    "claim_fewer_params",
    "claim_low_rank",
    "claim_merge",
    "claim_mixed_traffic",
    "claim_one_task",
    "claim_prompt_tuning",
    "claim_update",
    "left_out_note",
]

CLAIMS = (
    claim_update,
    claim_low_rank,
    claim_fewer_params,
    claim_merge,
    claim_one_task,
    claim_mixed_traffic,
    claim_prompt_tuning,
)


@dataclass(frozen=True)
class Need:
    """What a claim reads that a run may lack, and what writes it: a run of a shipped suite (which runs
    `methods`), or, for switching rows, `python -m bench switch` or a suite whose `switch:` names a sweep."""

    rows: str  # the rows, in words
    suite: str  # the shipped suite that writes them (tests/analysis/test_claims_health.py checks it does)
    methods: tuple[str, ...] = ()  # the methods whose ok runs the claim compares
    switch: bool = False  # switching rows: the suite's `switch:` sweep, or the switch command


SPECTRUM = Need("full fine-tuning rows with update_spectrum", "quick", ("full",))
SWITCHING = Need("switching rows", "quick", switch=True)
NEEDS = {
    1: SPECTRUM,
    2: SPECTRUM,
    3: Need("ok lora and full runs on one task", "quick", ("lora", "full")),
    4: SWITCHING,
    5: SWITCHING,
    6: SWITCHING,
    7: Need("ok lora and prompt_tuning runs on one task", "quick", ("lora", "prompt_tuning")),
}


def left_out_note(rows: list[dict]) -> str | None:
    """'N runs the health checks flag were left out (see the warnings)', or None when none was."""
    n = sum(1 for r in main_rows(rows) if health.run_warning(r))
    return (
        f"{n} run{'s' if n != 1 else ''} the health checks flag {'were' if n != 1 else 'was'} left out (see the warnings)"
        if n
        else None
    )


def assess(rows: list[dict]) -> list[Claim]:
    """Each claim from the healthy rows only (health.healthy: each sweep's selected setting, less the runs the
    checks flag); a verdict reached without flagged runs says how many were left out."""
    claims = [decide(health.healthy(rows)) for decide in CLAIMS]
    note = left_out_note(rows)
    return claims if note is None else [replace(c, evidence=(*c.evidence, note)) for c in claims]
