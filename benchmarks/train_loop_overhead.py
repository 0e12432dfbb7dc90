"""Is the suite's training loop as fast as a minimal hand-written PEFT loop? Side by side, one run.

Both loops train identical LoRA models (same init, same batches) in interleaved rounds, so
machine noise hits both alike; the ratio of median round throughputs is printed; it should be at least 0.95.

    python benchmarks/train_loop_overhead.py [--model minilm] [--rounds 5] [--steps 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def minimal_loop(model, batches, lr):
    """What a user would write by hand: forward, loss, backward, step."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for b in batches:
        out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"])
        loss = torch.nn.functional.cross_entropy(out.logits, b["labels"])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def main() -> None:
    from bench.catalog import methods, models, tasks
    from bench.config import Budget
    from bench.execute.run import quiet_libraries
    from bench.measure import data
    from bench.measure.train import train

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--task", default="rotten_tomatoes")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    quiet_libraries()

    task = tasks.load_task(args.task)
    ex = tasks.split_examples(tasks.load_examples(task), task.split)["train"][: args.steps * args.batch_size]
    spec = models.resolve(args.model)

    def fresh():
        torch.manual_seed(0)
        model, tok, kind = models.load(spec, len(task.labels))
        method, params = methods.resolve("lora", {})
        return method.build(model, params, methods.BuildContext(kind, "", "")), tok, params.lr

    model_a, tok, lr = fresh()
    model_b, _, _ = fresh()
    ids = data.encode(ex, tok, task, "encoder", 64)
    batches = data.make_batches(
        ids, [e.label for e in ex], args.batch_size, tok.pad_token_id, left=False, shuffle_seed=0
    )
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    budget = Budget(max_steps=len(batches), batch_size=args.batch_size)
    cpu = torch.device("cpu")

    minimal_loop(model_a, batches[:2], lr)  # warm both up
    train(
        model_b,
        lambda e: batches[:2],
        kind="encoder",
        label_token_ids=None,
        lr=lr,
        budget=Budget(max_steps=2),
        warmup_steps=0,
        device=cpu,
        show_progress=False,
    )
    rates = {"minimal": [], "suite": []}
    for r in range(args.rounds):
        for name in ("minimal", "suite") if r % 2 == 0 else ("suite", "minimal"):
            t0 = time.perf_counter()
            if name == "minimal":
                minimal_loop(model_a, batches, lr)
            else:
                train(
                    model_b,
                    lambda e: batches,
                    kind="encoder",
                    label_token_ids=None,
                    lr=lr,
                    budget=budget,
                    warmup_steps=0,
                    device=cpu,
                    show_progress=False,
                )
            rates[name].append(tokens / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in rates.items()}
    for k, v in rates.items():
        print(f"{k:8} tokens/s per round: " + ", ".join(f"{x:.0f}" for x in v) + f"  (median {med[k]:.0f})")
    ratio = med["suite"] / med["minimal"]
    print(f"suite / minimal throughput: {ratio:.3f}  (at least 0.95: {'met' if ratio >= 0.95 else 'NOT met'})")


if __name__ == "__main__":
    main()
