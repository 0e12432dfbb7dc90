"""One batch of mixed-task requests at a real model's shape, every strategy side by side in one run
(interleaved rounds, medians): the base model, gathered LoRA, PEFT's mixed-adapter batch, the
mixed soft-prompt batch, and merge_swap serving the same requests one task at a time (a swap and a
forward per task). Random weights: speed only.

Target: gathered LoRA within 15 % of the base model at Llama-3.2-1B's shape (2 layers on CPU),
r = 16 on q, k, v, o, N = 64 adapters, batch 32 (32 distinct adapters in the batch).

    python benchmarks/shape_batches.py [--shape llama-3.2-1b] [--layers 2] [--rank 16] [--tasks-n 64]
        [--batch 32] [--tokens 16] [--rounds 3] [--device auto]
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    from bench.execute.device import resolve_device
    from bench.execute.run import quiet_libraries
    from bench.serving.profile import ProfileConfig, profile
    from bench.serving.run import ATTENTION
    from bench.switching import fleet as fleets
    from bench.switching.strategies import SERVERS, forms_for

    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.2-1b")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--tasks-n", type=int, default=64)
    ap.add_argument("--batch", default="32", help="batch sizes, e.g. 1,8,32,64 (one fleet for all)")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    quiet_libraries()
    device = torch.device(resolve_device(args.device))
    base, spec = fleets.load_backbone(f"shape:{args.shape}", args.layers, args.dtype, device)
    names = ("base", "gathered_lora", "peft_mixed_batch", "mixed_prompt_batch", "merge_swap")
    fleet = fleets.build(
        base, args.tasks_n, device, rank=args.rank, target_modules=list(ATTENTION), forms=forms_for(names)
    )
    servers = {s: SERVERS[s](fleet) for s in names}
    vocab = base.get_input_embeddings().weight.shape[0]
    batches = sorted({int(b) for b in args.batch.split(",")})
    low = 1000 if vocab > 2000 else min(5, vocab - 1)  # past the special tokens of a real vocabulary
    inputs = torch.randint(low, vocab, (max(batches), args.tokens), generator=torch.Generator().manual_seed(0))
    distinct = {b: min(b, args.tasks_n) for b in batches}
    cfg = ProfileConfig(
        batch_sizes=(1, *batches),
        distinct=tuple(sorted(set(distinct.values()))),
        tokens=args.tokens,
        repeats=args.rounds,
    )
    prof = profile(servers, inputs.to(device), args.tasks_n, cfg)
    print(
        f"{spec.name} ({args.layers or 'all'} layers, {args.dtype}) on {device.type}: N = {args.tasks_n} adapters, "
        f"r = {args.rank} on q,k,v,o; one batch of B requests x {args.tokens} tokens, min(B, N) distinct tasks; "
        f"median of {args.rounds} interleaved rounds"
    )
    merge = prof["merge_swap"]["service"]
    print(f"{'B':>4} " + " ".join(f"{s:>18}" for s in names) + "   (ms per batch, x base)")
    for b in batches:
        d = distinct[b]
        ms = {s: prof[s]["service"].batch_time_ms(b, d) for s in names if s != "merge_swap"}
        ms["merge_swap"] = d * (merge.swap_ms + merge.batch_time_ms(max(1, b // d), 1))
        print(f"{b:>4} " + " ".join(f"{ms[s]:>9.1f} {ms[s] / ms['base']:>7.2f}x" for s in names))
        g = ms["gathered_lora"] / ms["base"] - 1
        verdict = (
            f"{'met    ' if g <= 0.15 else 'NOT met'}  B = {b}: gathered_lora within 15 % of base: {100 * g:+.1f} %"
        )
        print(verdict, flush=True)
    print(f"merge_swap = d x (swap {merge.swap_ms:.1f} ms + forward of B/d rows): one task at a time, d distinct tasks")
    fleet.close()


if __name__ == "__main__":
    main()
