#!/usr/bin/env bash
# How serving costs grow with the number of tasks, the LoRA rank and the model's width, on CPU
# (shape-only models: random weights, no download). Every run appends serve rows to one file; the
# report's "Serving under load" section draws the scaling panels from it.
#
#   bash benchmarks/serve_scale.sh [OUT]      (default OUT: results/serving/scale-cpu.jsonl)
#
# 1. N = 16, 64, 256, 1024 at rank 16 (Llama-3.2-1B shape, 2 layers), every strategy, with the
#    real-time validation runs
# 2. ranks 8 and 64 at N = 64 (rank 16 is in 1)
# 3. hidden size: Qwen2.5-0.5B (896), Llama-3.2-1B (2048) and Llama-3.1-8B (4096) shapes, 1 layer each,
#    N = 64, rank 16
# Takes about 10 minutes on 2 idle cores.
set -euo pipefail
OUT=${1:-results/serving/scale-cpu.jsonl}
mkdir -p "$(dirname "$OUT")"
python -m bench serve --model shape:llama-3.2-1b --set model.layers=2 --tasks-n 16,64,256,1024 --device cpu \
  --output "$OUT"
python -m bench serve --model shape:llama-3.2-1b --set model.layers=2 --tasks-n 64 --rank 8,64 --no-validate \
  --device cpu --output "$OUT"
for shape in qwen2.5-0.5b llama-3.2-1b llama-3.1-8b; do
  python -m bench serve --model "shape:$shape" --set model.layers=1 --tasks-n 64 --no-validate --device cpu \
    --output "$OUT"
done
