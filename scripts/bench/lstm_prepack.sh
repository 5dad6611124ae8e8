#!/usr/bin/env bash
# The 2-layer LSTM fixture (32 -> 64, batch 1, 10 steps) with and without `prepack-lstm`, beside ONNX
# Runtime fp32 on the fixture's ONNX twin: the input file, the x86 compile pipeline without the pass,
# with it (what `mopt compile --profile x86-64-avx2` writes), both again specialized to the shape.
# Every figure is the p50 of `mopt bench` in a fresh process, 1 thread, 2000 calls; ROUNDS rounds
# alternating the files, median over rounds.
#   bash scripts/bench/lstm_prepack.sh [ROUNDS]
source "$(dirname "$0")/lib.sh"
rounds=${1:-7}
mopt=${MOPT:-$mopt}
src=build/fixtures/onnx_import/lstm.pt
x86='remove-dropout,fold-conv-bn,freeze,channels-last,optimize-for-inference{mkldnn=true}'
specialize='specialize-input-shape{shape=1x10x32}'
$mopt optimize $src -p "$x86" -o "$tmp/without.pt" --quiet
$mopt optimize $src -p "$x86,prepack-lstm" -o "$tmp/prepacked.pt" --quiet
$mopt optimize $src -p "$x86,$specialize" -o "$tmp/without_specialized.pt" --quiet
$mopt optimize $src -p "$x86,$specialize,prepack-lstm" -o "$tmp/prepacked_specialized.pt" --quiet
cp $src "$tmp/input.pt"
cp build/fixtures/onnx_import/lstm.onnx "$tmp/ort.onnx"
files=(input without prepacked without_specialized prepacked_specialized ort)
declare -A p50
for r in $(seq "$rounds"); do
  for f in "${files[@]}"; do
    file=$(ls "$tmp/$f".*)
    p50[$f]+=" $($mopt bench "$file" --input-shape 1x10x32 --threads 1 --iterations 2000 --quiet --report "$tmp/b.json" \
                 >/dev/null && field "$tmp/b.json" "['metrics']['rows'][0]['latency']['p50_ms']")"
  done
done
ort=$(median ${p50[ort]})
printf '%-24s %10s %10s   %s\n' file "p50 ms" "/ ORT" "rounds"
for f in "${files[@]}"; do
  m=$(median ${p50[$f]})
  printf '%-24s %10.3f %10.2f  %s\n' "$f" "$m" "$(echo "$m / $ort" | bc -l)" "${p50[$f]}"
done
