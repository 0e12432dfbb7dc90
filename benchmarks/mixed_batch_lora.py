"""Mixed-task batches, side by side in one run: gathered LoRA vs PEFT's mixed-adapter batch vs the
base model, for N = 1..64 distinct adapters in one batch; and a mixed soft-prompt batch vs a
single-prompt batch of the same token count (PEFT prompt tuning).

Checks, each printed as met or NOT met: gathered_lora within 10 % of base at N = 16, batch 32;
gathered_lora faster than peft_mixed_batch at every N >= 4; mixed_prompt_batch within 10 % of a
single-prompt batch.

    python benchmarks/mixed_batch_lora.py [--model minilm] [--batch 32] [--tokens 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def timed_ms(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter_ns()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter_ns() - t0) / 1e6


def main() -> None:
    from bench.execute.device import resolve_device
    from bench.execute.run import quiet_libraries
    from bench.switching import fleet as fleets
    from bench.switching.strategies import SERVERS

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tasks-n", default="1,2,4,8,16,32,64")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    quiet_libraries()
    device = torch.device(resolve_device(args.device))
    torch.manual_seed(0)
    ns = [int(x) for x in args.tasks_n.split(",")]
    base, _ = fleets.load_backbone(args.model)
    fleet = fleets.build(base, max(ns), device)
    vocab = base.get_input_embeddings().weight.shape[0]
    ids = torch.randint(1000 if vocab > 2000 else 5, vocab, (args.batch, args.tokens)).to(device)
    servers = {
        s: SERVERS[s](fleet) for s in ("base", "peft_mixed_batch", "gathered_lora", "prompt_swap", "mixed_prompt_batch")
    }

    print(
        f"{args.model} on {device.type}, batch {args.batch} x {args.tokens} tokens, {args.rounds} interleaved rounds; "
        f"median ms per batch"
    )
    print(
        f"{'N':>3} {'base':>9} {'peft_mixed':>11} {'vs base':>8} {'gathered':>9} {'vs base':>8} {'gathered/peft':>14}"
    )
    verdicts = []
    with torch.inference_mode():
        for s in servers.values():  # warm-up
            s.forward(ids, torch.zeros(args.batch, dtype=torch.long, device=device))
        for n in ns:
            tasks = torch.arange(args.batch, device=device) % n
            samples = {k: [] for k in ("base", "peft_mixed_batch", "gathered_lora")}
            for _ in range(args.rounds):
                for name in samples:
                    samples[name].append(timed_ms(lambda: servers[name].forward(ids, tasks), device))
            b, p, g = (statistics.median(samples[k]) for k in ("base", "peft_mixed_batch", "gathered_lora"))
            print(
                f"{n:>3} {b:>9.2f} {p:>11.2f} {100 * (p / b - 1):>+7.1f}% {g:>9.2f} {100 * (g / b - 1):>+7.1f}% "
                f"{g / p:>14.3f}"
            )
            if n == 16:
                verdicts.append(
                    ("gathered_lora within 10 % of base at N = 16", g / b - 1 <= 0.10, f"{100 * (g / b - 1):+.1f} %")
                )
            if n >= 4:
                verdicts.append((f"gathered_lora faster than peft_mixed_batch at N = {n}", g < p, f"ratio {g / p:.3f}"))

        tasks = torch.arange(args.batch, device=device) % min(16, max(ns))
        servers["prompt_swap"].swap(0)
        samples = {"prompt_swap": [], "mixed_prompt_batch": []}
        for _ in range(args.rounds):
            for name in samples:
                samples[name].append(timed_ms(lambda: servers[name].forward(ids, tasks), device))
        single, mixed = (statistics.median(samples[k]) for k in ("prompt_swap", "mixed_prompt_batch"))
        print(
            f"\nsoft prompts ({fleet.virtual_tokens} virtual tokens): single-prompt batch (PEFT) {single:.2f} ms, "
            f"mixed-prompt batch ({int(tasks.max()) + 1} tasks) {mixed:.2f} ms, ratio {mixed / single:.3f}"
        )
        verdicts.append(
            (
                "mixed_prompt_batch within 10 % of a single-prompt batch",
                mixed / single - 1 <= 0.10,
                f"{100 * (mixed / single - 1):+.1f} %",
            )
        )
    print()
    for what, ok, value in verdicts:
        print(f"{'met    ' if ok else 'NOT met'}  {what}: {value}")
    fleet.close()


if __name__ == "__main__":
    main()
