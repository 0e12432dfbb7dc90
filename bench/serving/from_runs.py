"""`serve --adapters-from RUNS.jsonl`: serving what earlier runs trained. The runs name the fleet's shape (the
LoRA rank and targets, the soft prompts' virtual tokens), their kept adapters fill the first slots (the
switching sweep's loader, bench/switching/trained.py) and the requests are the test inputs of their tasks,
tokenized as the runs tokenized them, so each request costs its real length (and prompt tuning's virtual
tokens cost what they add to that length).

plan()        the runs -> what the fleet and the requests need (pure)
request_ids() the tasks' test inputs as token ids, in the split's order, tasks in turn
padded()      token ids -> one left-padded batch tensor (pure)
requests()    the profiled batches' and the real-time runs' requests, and what rows record of them
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bench.analysis.selection import main_rows
from bench.catalog import models, tasks
from bench.errors import BenchError
from bench.measure.data import encode
from bench.options import PROMPT_STRATEGIES
from bench.rows.schema import kind_of
from bench.rows.store import read_rows
from bench.switching.trained import from_results


@dataclass(frozen=True)
class RunsPlan:
    path: str
    tasks: tuple[str, ...]  # the runs' tasks, in order of first appearance
    rank: int | None  # the trained LoRA's rank (None: no LoRA run)
    lora_targets: tuple[str, ...]  # the trained LoRA's target modules (empty: PEFT's defaults)
    virtual_tokens: int | None  # the trained soft prompts' length (None: no prompt-tuning run)
    max_length: int  # real tokens per request at most, as the runs cut them
    chat: bool  # the runs put each prompt in the chat template
    run_ids: tuple[str, ...]


def _runs(rows: list[dict], model: str, tasks: tuple[str, ...] = ()) -> list[dict]:
    name = models.resolve(model).name
    ok = [r for r in main_rows(rows) if kind_of(r) == "run" and r.get("status") == "ok"]
    if tasks:
        known = sorted({str(r.get("task")) for r in ok})
        if set(tasks) - set(known):
            raise BenchError(
                f"adapters_tasks: no ok run of {sorted(set(tasks) - set(known))[0]}; valid: {', '.join(known)}"
            )
        ok = [r for r in ok if r.get("task") in tasks]
    mine = [r for r in ok if models.resolve(str(r.get("model"))).name == name]
    if not mine:
        found = sorted({str(r.get("model")) for r in ok}) or ["none"]
        raise BenchError(f"--adapters-from: no ok run of model {name!r} in the file (runs of: {', '.join(found)})")
    return mine


def plan(rows: list[dict], model: str, path: str = "", tasks: tuple[str, ...] = ()) -> RunsPlan:
    """The fleet and requests that serving `model` with these runs' adapters needs (pure). Of a swept method only
    the selected setting's runs count (main_rows); with several ranks or prompt lengths, the first run's. `tasks`:
    only these tasks' runs (default: every task of the runs)."""
    mine = _runs(rows, model, tasks)
    base = lambda r: r.get("base_method") or r.get("method")  # noqa: E731
    lora = [r for r in mine if base(r) == "lora" and not r.get("method_params", {}).get("use_dora")]
    prompts = [r for r in mine if base(r) == "prompt_tuning"]
    params = lora[0].get("method_params", {}) if lora else {}
    budget = mine[0].get("budget") or {}
    return RunsPlan(
        path=path,
        tasks=tuple(dict.fromkeys(str(r.get("task")) for r in mine)),
        rank=int(params["r"]) if lora and params.get("r") else None,
        lora_targets=tuple(lora[0].get("adapter_targets") or params.get("target_modules") or ()) if lora else (),
        virtual_tokens=int(prompts[0].get("virtual_tokens") or prompts[0]["method_params"]["num_virtual_tokens"])
        if prompts
        else None,
        max_length=int(budget.get("max_length") or 64),
        chat=bool(budget.get("chat_template")),
        run_ids=tuple(str(r.get("run_id")) for r in mine),
    )


def read_plan(path: str, model: str, tasks: tuple[str, ...] = ()) -> RunsPlan:
    if not Path(path).is_file():
        raise BenchError(f"--adapters-from {path}: no such results file")
    return plan(read_rows(Path(path)), model, path, tasks)


def request_ids(p: RunsPlan, model: str, count: int) -> tuple[list[list[int]], int]:
    """`count` requests (token ids) and the pad id: the test inputs of the runs' tasks in the split's order, the
    tasks taken in turn, tokenized as the runs tokenized them (prompt template, truncation side, max length)."""
    spec = models.resolve(model)
    _, tok, kind = _tokenizer(spec)
    per_task = []
    for name in p.tasks:
        task = tasks.load_task(name)
        test = tasks.split_examples(tasks.load_examples(task), task.split)["test"][:count]
        per_task.append([x for x in encode(test, tok, task, kind, p.max_length, chat=p.chat) if x])
    if not all(per_task):
        raise BenchError(f"--adapters-from: the tasks {', '.join(p.tasks)} have no test inputs to serve")
    k = len(per_task)
    return [per_task[i % k][(i // k) % len(per_task[i % k])] for i in range(count)], tok.pad_token_id


def _tokenizer(spec):
    from transformers import AutoConfig, AutoTokenizer

    path = models.local_path(spec)
    tok = AutoTokenizer.from_pretrained(path)
    kind = spec.kind or models.kind_from_config(AutoConfig.from_pretrained(path).to_dict())
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return path, tok, kind


def padded(ids: list[list[int]], pad_id: int, width: int | None = None) -> torch.Tensor:
    """Token ids -> [len(ids), width] (default: the longest), padded on the left and cut from the left (a causal
    prompt ends where its answer starts). The servers attend to every position, so a batch costs its width
    times its size, as a padded batch does."""
    width = width or max(len(x) for x in ids)
    return torch.tensor([[pad_id] * (width - len(x)) + list(x)[-width:] for x in ids], dtype=torch.long)


@dataclass(frozen=True)
class Requests:
    profile: torch.Tensor  # [max batch, width]: the profiled batches' requests
    check: torch.Tensor  # [n, width]: the real-time runs' requests
    record: dict  # what the rows record about them


def configure(cfg, p: RunsPlan):
    """The serve config the runs ask for: their LoRA rank and their soft prompts' length."""
    import dataclasses

    return dataclasses.replace(
        cfg,
        ranks=(p.rank,) if p.rank else cfg.ranks,
        virtual_tokens=p.virtual_tokens or cfg.virtual_tokens,
    )


def requests(p: RunsPlan, model: str, max_batch: int, n_check: int) -> Requests:
    """The first max_batch test inputs make the profiled batches (width: their longest), the next n_check the
    real-time runs' requests at the same width."""
    ids, pad = request_ids(p, model, max_batch + n_check)
    head = ids[:max_batch]
    width = max(len(x) for x in head)
    lengths = [len(x) for x in head]
    record = {
        "requests_from": list(p.tasks),
        "request_tokens": {"min": min(lengths), "p50": sorted(lengths)[len(lengths) // 2], "max": width},
    }
    return Requests(padded(head, pad, width), padded(ids[max_batch:], pad, width), record)


def load_trained(p: RunsPlan, cfg, base):
    return from_results(
        Path(p.path), cfg.model.name, cfg.ranks[0], cfg.virtual_tokens, getattr(base, "base_model_prefix", "")
    )


def provenance(p: RunsPlan, trained) -> dict:
    return {"trained_adapters_from": trained.sources, "adapters_from_runs": list(p.run_ids)}


def mark_trained(rows: list[dict], fleet) -> None:
    """Each row: how many of its fleet's first slots hold what the runs trained (the rest are drawn)."""
    for r in rows:
        trained = fleet.trained_prompts if r["strategy"] in PROMPT_STRATEGIES else fleet.trained_lora
        r["trained_in_fleet"] = 0 if r["strategy"] == "base" else min(fleet.n, trained)
