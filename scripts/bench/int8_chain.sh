#!/usr/bin/env bash
# Static INT8 of torchvision models (random weights, batch-norm statistics from 4 random batches)
# against their fp32 forms, every figure `mopt bench` of a saved file in a fresh process, 1 thread,
# ROUNDS rounds alternating the files; the median over rounds is printed with the ratios, and the
# INT8 chain from the quantize report (quantized ops, quantize/dequantize boundaries, SiLU ops kept
# INT8 as x * sigmoid(x), ReLU6 folded into the op before it). fp32 input = the scripted file as given; fp32 compiled = `mopt compile
# --profile x86-64-avx512-vnni --keep-if-faster`, the fastest fp32 file mopt makes. The "tuned"
# columns time the compiled and INT8 files again with `mopt bench --malloc-tuned` (the allocator
# thresholds a deploying process can set; glibc's defaults map some models' buffers afresh every call).
# Usage: scripts/bench/int8_chain.sh [ROUNDS] [MODEL...]   (default: efficientnet_b0 mobilenet_v3_small)
# MOPT=path uses another mopt binary (e.g. a build from before a change, for an A/B).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(efficientnet_b0 mobilenet_v3_small)
source scripts/bench/lib.sh
mopt=${MOPT:-$mopt}
/usr/bin/python3 scripts/bench/torchvision_models.py "$tmp" "${models[@]}"  # random weights, settled BatchNorm
/usr/bin/python3 -c "import numpy as np, sys, torch; np.save(sys.argv[1], torch.randn(32, 3, 224, 224, generator=torch.Generator().manual_seed(1)).numpy())" "$tmp/img.npy"
printf '%-20s %10s %12s %9s %11s %13s %12s %11s %13s   %s\n' model "fp32 in" "fp32 comp." int8 "in/int8" "comp./int8" \
  "comp. tuned" "int8 tuned" "tuned ratio" "INT8 chain (from the quantize report)"
for name in "${models[@]}"; do
  echo "== $name: quantize, compile ..." >&2
  $mopt quantize "$tmp/$name.pt" -o "$tmp/$name.int8.pt" --calib "$tmp/img.npy" --eval-data "$tmp/img.npy" --eval-samples 8 \
    --threads 1 --iterations 10 --quiet --report "$tmp/q.json"
  chain=$(/usr/bin/python3 -c "
import json; q = json.load(open('$tmp/q.json'))['details']['quantization']; b = q['boundaries']; a = json.load(open('$tmp/q.json'))['metrics']['agreement']
print(f\"{b['quantized_ops']} quantized ops, {b['quantize']} Q / {b['dequantize']} DQ, {q.get('silu_as_sigmoid_mul', 0)} SiLU as x*sigmoid(x), {q.get('relu6_folded', 0)} ReLU6 folded; cosine {a['cosine']:.4f}\")")
  $mopt compile "$tmp/$name.pt" --profile x86-64-avx512-vnni --keep-if-faster --threads 1 --iterations 30 \
    --input-shape 1x3x224x224 -o "$tmp/$name.compiled.pt" --quiet
  a=(); c=(); q=(); ct=(); qt=()
  for _ in $(seq "$rounds"); do
    a+=("$(bench_p50 "$tmp/$name.pt" 1 --input-shape 1x3x224x224)")
    c+=("$(bench_p50 "$tmp/$name.compiled.pt" 1 --input-shape 1x3x224x224)")
    q+=("$(bench_p50 "$tmp/$name.int8.pt" 1 --input-shape 1x3x224x224)")
    ct+=("$(bench_p50 "$tmp/$name.compiled.pt" 1 --input-shape 1x3x224x224 --malloc-tuned)")
    qt+=("$(bench_p50 "$tmp/$name.int8.pt" 1 --input-shape 1x3x224x224 --malloc-tuned)")
  done
  fa=$(median "${a[@]}"); fc=$(median "${c[@]}"); fq=$(median "${q[@]}"); fct=$(median "${ct[@]}"); fqt=$(median "${qt[@]}")
  printf '%-20s %10.2f %12.2f %9.2f %10.2fx %12.2fx %12.2f %11.2f %12.2fx   %s\n' "$name" "$fa" "$fc" "$fq" "$(echo "$fa / $fq" | bc -l)" \
    "$(echo "$fc / $fq" | bc -l)" "$fct" "$fqt" "$(echo "$fct / $fqt" | bc -l)" "$chain"
done
echo "(ms, mopt bench p50 of 200 calls, 1 thread, batch 1, fresh process per figure, median of $rounds rounds)"
