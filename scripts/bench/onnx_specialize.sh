#!/usr/bin/env bash
# What fixing an ONNX graph's input shape buys in ONNX Runtime. For each PyTorch export among the
# fixtures (batch, and sequence length where there is one, dynamic), two files from the same input:
#   clean = `mopt optimize NAME.onnx -p <compile's ONNX clean-up pipeline>`
#   fixed = the same pipeline then specialize-input-shape{shape=SHAPE} (`compile --specialize`)
# then `mopt bench` of each in fresh processes (ONNX Runtime, 200 timed calls), alternating, ROUNDS
# rounds, at 1 thread (the stable ratio on this shared machine) and at 2 threads (labelled, noisier).
# Prints node counts, file sizes, the median p50s and fixed/clean (below 1 = the fixed graph is faster).
#   [MOPT=path] bash scripts/bench/onnx_specialize.sh [ROUNDS] [NAME:SHAPE...]
source "$(dirname "$0")/lib.sh"
mopt=${MOPT:-$mopt}  # MOPT=path: a copy, so a rebuild during the run cannot swap it
rounds=${1:-5}
specs=("${@:2}")
[ ${#specs[@]} -gt 0 ] || specs=(transformer:1x16x64 lstm:1x10x32 gru:1x10x16 shufflenet_v2:1x3x224x224
                                 mobilenet_v3_small:1x3x224x224 efficientnet_b0:1x3x224x224 resnet18:1x3x224x224)
dir=build/fixtures/onnx_import
cleanup=constants-to-initializers,fold-constants,eliminate-identity,eliminate-dropout,fuse-conv-bn,fuse-matmul-add,eliminate-dead-nodes

nodes() { /usr/bin/python3 -c "import onnx,sys; print(len(onnx.load(sys.argv[1]).graph.node))" "$1"; }
printf '%-20s %-12s %13s %13s %7s %9s %9s %7s\n' model shape nodes bytes threads "clean ms" "fixed ms" fixed/clean
for spec in "${specs[@]}"; do
  name=${spec%%:*}; shape=${spec#*:}
  "$mopt" optimize "$dir/$name.onnx" -p "$cleanup" -o "$tmp/$name.clean.onnx" --iterations 10 --quiet
  "$mopt" optimize "$dir/$name.onnx" -p "$cleanup,specialize-input-shape{shape=$shape}" -o "$tmp/$name.fixed.onnx" \
    --iterations 10 --quiet
  node_counts="$(nodes "$tmp/$name.clean.onnx")->$(nodes "$tmp/$name.fixed.onnx")"
  sizes="$(stat -c %s "$tmp/$name.clean.onnx")->$(stat -c %s "$tmp/$name.fixed.onnx")"
  for threads in 1 2; do
    clean=(); fixed=()
    for _ in $(seq "$rounds"); do
      clean+=("$(bench_p50 "$tmp/$name.clean.onnx" "$threads" --input-shape "$shape" --warmup 50)")
      fixed+=("$(bench_p50 "$tmp/$name.fixed.onnx" "$threads" --input-shape "$shape" --warmup 50)")
    done
    c=$(median "${clean[@]}"); f=$(median "${fixed[@]}")
    printf '%-20s %-12s %13s %13s %7s %9.4f %9.4f %7.2f\n' "$name" "$shape" "$node_counts" "$sizes" \
      "$threads" "$c" "$f" "$(echo "$f / $c" | bc -l)"
  done
done
