#!/usr/bin/env bash
# The GPU kit: one H100/H200-class GPU, about 8 minutes, no network. Files beside the repository:
# only the bundle that `python -m bench assets bundle DIR` writes (MiniLM in fp16 and the tasks'
# archive, under 60 MiB); shape-only models need none.
#
#   ADAPTER_BENCH_CACHE=DIR bash benchmarks/gpu_kit.sh [OUT]     (default OUT: results/gpu)
#
# 1. the quick suite on cuda (accuracy + speed of every method on MiniLM, with its switching sweep)
# 2. the switching sweep at Llama-3.1-8B's shape in bf16 (random weights; every layer)
# 3. serving under load at the same shape: N = 16 and 64 tasks, every strategy
# 4. one mixed batch, every strategy side by side, at batch 1, 8, 32 and 64
set -euo pipefail
OUT=${1:-results/gpu}
mkdir -p "$OUT"
SHAPE=shape:llama-3.1-8b
python -m bench run --suite gpu --output "$OUT/gpu.jsonl" --no-progress
python -m bench switch --model "$SHAPE" --dtype bf16 --device cuda --tasks-n 1,16,64 --batch-sizes 32 \
  --strategies base,merge_swap,set_adapter,hotswap,peft_mixed_batch,gathered_lora,prompt_swap,mixed_prompt_batch \
  --popularity zipf --lengths short --requests 128 --repeats 2 --output "$OUT/switch-8b.jsonl" --no-progress
python -m bench serve --model "$SHAPE" --set model.layers=0 --set model.dtype=bf16 --device cuda --tasks-n 16,64 \
  --rates 50,100,200,400 --set profile.repeats=5 --set validate_seconds=5 --output "$OUT/serve-8b.jsonl"
python benchmarks/shape_batches.py --shape llama-3.1-8b --layers 0 --dtype bf16 --tasks-n 64 --batch 1,8,32,64 \
  --rounds 5 --device cuda | tee "$OUT/shape_batches-8b.txt"
