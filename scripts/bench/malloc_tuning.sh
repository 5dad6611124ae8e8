#!/usr/bin/env bash
# How much of a model's latency is the C allocator mapping its buffers afresh on every call:
# `mopt bench` with glibc's defaults vs `mopt bench --malloc-tuned` (MALLOC_MMAP_THRESHOLD_=32 MiB,
# MALLOC_TRIM_THRESHOLD_=256 MiB, as any deploying process can set them), alternating fresh
# processes, ROUNDS rounds; prints medians, page faults per call and the ratio, at 1 thread and at 2.
# Usage: scripts/bench/malloc_tuning.sh [ROUNDS] [FIXTURE...]   (fixtures from build/fixtures)
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
rounds=${1:-3}; shift || true
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(mobilenet_v2 resnet18 transformer)
# A compiled MobileNetV2 (oneDNN layouts) too: its layout conversions allocate per call.
$mopt optimize build/fixtures/mobilenet_v2.pt -p 'remove-dropout,fold-conv-bn,freeze,channels-last,optimize-for-inference{mkldnn=true}' \
  -o "$tmp/mobilenet_v2.onednn.pt" --quiet
shape_of() { case "$1" in *transformer*) echo 1x16x64 ;; *) echo 1x3x224x224 ;; esac; }
printf '%-22s %7s %12s %12s %8s %14s %14s\n' model threads "default ms" "tuned ms" "ratio" "faults/call" "tuned faults"
for name in "${models[@]}" mobilenet_v2.onednn; do
  file=build/fixtures/$name.pt; [ -f "$file" ] || file=$tmp/$name.pt
  for threads in 1 2; do
    plain=(); tuned=(); pf=(); tf=()
    for _ in $(seq "$rounds"); do
      plain+=("$(bench_p50 "$file" "$threads" --input-shape "$(shape_of "$name")")")
      pf+=("$(field "$tmp/b.json" "['metrics']['rows'][0]['memory']['page_faults_per_call']")")
      tuned+=("$(bench_p50 "$file" "$threads" --input-shape "$(shape_of "$name")" --malloc-tuned)")
      tf+=("$(field "$tmp/b.json" "['metrics']['rows'][0]['memory']['page_faults_per_call']")")
    done
    a=$(median "${plain[@]}"); b=$(median "${tuned[@]}")
    printf '%-22s %7s %12.3f %12.3f %7.2fx %14.0f %14.0f\n' "$name" "$threads" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')" \
      "$(median "${pf[@]}")" "$(median "${tf[@]}")"
  done
done
