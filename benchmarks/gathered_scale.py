"""Gathered LoRA as the number of resident adapters grows (N up to 1,024), at a real model's shape:
the time of one mixed batch (every row a different adapter drawn uniformly from the N) against
the base model, side by side in interleaved rounds, and the bytes the stacked adapters hold.
Only the gathered form is built (no PEFT copies), so N = 1,024 fits where a full fleet would not.

    python benchmarks/gathered_scale.py [--shape llama-3.2-1b] [--layers 2] [--rank 16]
        [--tasks-n 16,64,256,1024] [--batch 32] [--tokens 16] [--rounds 3] [--device auto]
"""

from __future__ import annotations

import argparse
import statistics

import torch


def main() -> None:
    from bench.catalog import shapes
    from bench.execute.device import resolve_device
    from bench.execute.run import quiet_libraries
    from bench.measure.timing import timed
    from bench.serving.run import ATTENTION
    from bench.switching import gathered
    from bench.switching.fleet import _copy

    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.2-1b")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--tasks-n", default="16,64,256,1024")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    quiet_libraries()
    device = torch.device(resolve_device(args.device))
    base = shapes.build(args.shape, args.layers, args.dtype, device=device)
    gen = torch.Generator().manual_seed(0)
    linears = {n: m for n, m in base.named_modules() if n.rsplit(".", 1)[-1] in ATTENTION}
    models = {}
    for n in sorted(int(x) for x in args.tasks_n.split(",")):
        weights = {
            name: (
                torch.randn(n, args.rank, m.in_features, generator=gen) / m.in_features**0.5,
                torch.randn(n, m.out_features, args.rank, generator=gen) * 0.02,
                2.0,
            )
            for name, m in linears.items()
        }
        model = _copy(base, share_linear=True)
        models[n] = (model, gathered.install(model, weights), gathered.resident_bytes(model))
        del weights
    vocab = base.get_input_embeddings().weight.shape[0]
    ids = torch.randint(1000, vocab, (args.batch, args.tokens), generator=gen).to(device)
    rows = {n: torch.randint(0, n, (args.batch,), generator=gen).to(device) for n in models}
    samples: dict = {"base": [], **{n: [] for n in models}}
    with torch.inference_mode():
        for round_ in range(args.rounds + 1):  # the first round warms up
            ms = timed(lambda: base(input_ids=ids), device)
            if round_:
                samples["base"].append(ms)
            for n, (model, selection, _) in models.items():
                with gathered.use_adapters(selection, rows[n]):
                    ms = timed(lambda model=model: model(input_ids=ids), device)
                if round_:
                    samples[n].append(ms)
    b = statistics.median(samples["base"])
    print(
        f"shape:{args.shape} ({args.layers or 'all'} layers, {args.dtype}) on {device.type}, r = {args.rank} on "
        f"q,k,v,o; one batch of {args.batch} x {args.tokens} tokens; median of {args.rounds} interleaved rounds"
    )
    print(f"{'N':>6} {'resident MiB':>13} {'ms/batch':>10} {'vs base':>8}")
    print(f"{'base':>6} {0:>13.1f} {b:>10.1f} {1:>7.2f}x")
    for n, (_, _, resident) in models.items():
        g = statistics.median(samples[n])
        print(f"{n:>6} {resident / 2**20:>13.1f} {g:>10.1f} {g / b:>7.2f}x")


if __name__ == "__main__":
    main()
