#!/usr/bin/env bash
# The GPU kit: one H100/H200-class GPU, about 8 minutes, no network. Files beside the repository:
# only the bundle that `python -m bench assets bundle DIR` writes (MiniLM in fp16 and the tasks'
# archive, under 60 MiB); shape-only models need none.
#
#   ADAPTER_BENCH_CACHE=DIR bash benchmarks/gpu_kit.sh [OUT]     (default OUT: results/gpu)
#
# 1. the quick suite on cuda (accuracy + speed of every method on MiniLM, with its switching sweep)
# 2. the switching sweep at Llama-3.1-8B's shape in bf16 (random weights; every layer)
# 3. serving under load at the same shape: N = 16 and 64 tasks, every strategy; N = 256 and 1,024 for the
#    mixed strategies that hold every adapter at once (base, gathered LoRA, mixed soft prompts)
# 4. one mixed batch, every strategy side by side, at batch 1, 8, 32 and 64
#
# The same steps at another scale (the tests run them on CPU with a tiny shape): SHAPE, LAYERS (0: all),
# DTYPE, DEVICE, SUITE (a suite name or file) override the defaults; RUN_ARGS, SWITCH_ARGS, SERVE_ARGS and
# BATCH_ARGS add options to (or, named again, replace options of) each step.
set -euo pipefail
OUT=${1:-results/gpu}
SHAPE=${SHAPE:-shape:llama-3.1-8b}
LAYERS=${LAYERS:-0}
DTYPE=${DTYPE:-bf16}
DEVICE=${DEVICE:-cuda}
SUITE=${SUITE:-gpu}
mkdir -p "$OUT"
# shellcheck disable=SC2086  # RUN_ARGS is a list of options
python -m bench run --suite "$SUITE" --device "$DEVICE" ${RUN_ARGS:-} --output "$OUT/gpu.jsonl" --no-progress
# shellcheck disable=SC2086
python -m bench switch --model "$SHAPE" --layers "$LAYERS" --dtype "$DTYPE" --device "$DEVICE" --tasks-n 1,16,64 \
  --batch-sizes 32 --strategies base,merge_swap,set_adapter,hotswap,peft_mixed_batch,gathered_lora,prompt_swap,mixed_prompt_batch \
  --popularity zipf --lengths short --requests 128 --repeats 2 ${SWITCH_ARGS:-} --output "$OUT/switch-8b.jsonl" \
  --no-progress
SERVE=(--model "$SHAPE" --set "model.layers=$LAYERS" --set "model.dtype=$DTYPE" --device "$DEVICE")
# shellcheck disable=SC2086
python -m bench serve "${SERVE[@]}" --tasks-n 16,64 --rates 50,100,200,400 --set profile.repeats=5 \
  --set validate_seconds=5 ${SERVE_ARGS:-} --output "$OUT/serve-8b.jsonl"
# shellcheck disable=SC2086
python -m bench serve "${SERVE[@]}" --tasks-n 256,1024 --strategies base,gathered_lora,mixed_prompt_batch \
  --no-validate ${SERVE_ARGS:-} --output "$OUT/serve-8b.jsonl"
# shellcheck disable=SC2086
python benchmarks/shape_batches.py --shape "${SHAPE#shape:}" --layers "$LAYERS" --dtype "$DTYPE" --tasks-n 64 \
  --batch 1,8,32,64 --rounds 5 --device "$DEVICE" ${BATCH_ARGS:-} | tee "$OUT/shape_batches-8b.txt"
