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
    from bench.switching.strategies import SERVERS

    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.2-1b")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--tasks-n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    quiet_libraries()
    device = torch.device(resolve_device(args.device))
    base, spec = fleets.load_backbone(f"shape:{args.shape}", args.layers, args.dtype)
    fleet = fleets.build(base, args.tasks_n, device, rank=args.rank, target_modules=list(ATTENTION))
    names = ("base", "gathered_lora", "peft_mixed_batch", "mixed_prompt_batch", "merge_swap")
    servers = {s: SERVERS[s](fleet) for s in names}
    vocab = base.get_input_embeddings().weight.shape[0]
    inputs = torch.randint(1000, vocab, (args.batch, args.tokens), generator=torch.Generator().manual_seed(0))
    distinct = min(args.batch, args.tasks_n)
    cfg = ProfileConfig(batch_sizes=(1, args.batch), distinct=(distinct,), tokens=args.tokens, repeats=args.rounds)
    prof = profile(servers, inputs.to(device), args.tasks_n, cfg)
    ms = {s: prof[s]["service"].batch_time_ms(args.batch, distinct) for s in names if s != "merge_swap"}
    merge = prof["merge_swap"]["service"]
    ms["merge_swap"] = distinct * (merge.swap_ms + merge.batch_time_ms(args.batch // distinct, 1))
    print(
        f"{spec.name} ({args.layers} layers, {args.dtype}) on {device.type}: N = {args.tasks_n} adapters, r = "
        f"{args.rank} on q,k,v,o; one batch of {args.batch} requests x {args.tokens} tokens, {distinct} distinct "
        f"tasks; median of {args.rounds} interleaved rounds"
    )
    print(f"{'strategy':22} {'ms/batch':>10} {'vs base':>9}")
    for s in names:
        print(f"{s:22} {ms[s]:>10.1f} {ms[s] / ms['base']:>8.2f}x")
    print(
        f"merge_swap = {distinct} x (swap {merge.swap_ms:.1f} ms + forward of "
        f"{args.batch // distinct} row {merge.batch_time_ms(args.batch // distinct, 1):.1f} ms)"
    )
    g = ms["gathered_lora"] / ms["base"] - 1
    print(f"\n{'met    ' if g <= 0.15 else 'NOT met'}  gathered_lora within 15 % of base: {100 * g:+.1f} %")
    fleet.close()


if __name__ == "__main__":
    main()
