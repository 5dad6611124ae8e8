#!/usr/bin/env bash
# ONNX static INT8 (QDQ) in ONNX Runtime vs ONNX Runtime fp32, side by side in one run:
#   - per model: mopt quantize model.onnx -o model.int8.onnx, then `mopt bench` of both files in fresh
#     processes, alternating, 1 thread (and 2 threads, labelled: noisy on this shared machine);
#     the ratio fp32 p50 / int8 p50 (aim >= 1.8 for ResNet-18 and MobileNetV2) and ORT's fused counts;
#   - the Fashion-MNIST CNN: accuracy of both files in ONNX Runtime on the full test split;
#   - calibration memory: peak RSS of `mopt quantize` at 64 and 1024 calibration samples (aim: flat).
#   bash scripts/bench/onnx_int8.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/onnx_import/index.json ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
rounds=${1:-3}
mopt=build/tools/mopt/mopt
fmnist=/usr/share/datasets/fashion-mnist
norm=0.2860,0.3530
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
field() { /usr/bin/python3 -c "import json,sys; r=json.load(open('$1')); print(eval('r' + sys.argv[1]))" "$2"; }
p50() {  # MODEL THREADS
  $mopt bench "$1" --threads "$2" --iterations 200 --quiet --report "$tmp/b.json"
  field "$tmp/b.json" "['metrics']['rows'][0]['latency']['p50_ms']"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-16s %-8s %10s %10s %7s   %s\n' model threads "fp32 ms" "int8 ms" ratio "ORT INT8 kernels (fused/quantized, fp32 left)"
for model in fashion_cnn resnet18 mobilenet_v2; do
  if [ "$model" = fashion_cnn ]; then
    src=build/fixtures/fashion_cnn.onnx; calib=(--calib "$fmnist" --normalize "$norm")
  else
    src=build/fixtures/onnx_import/$model.onnx; calib=(--calib "build/fixtures/onnx_import/$model.input.npy")
  fi
  $mopt quantize "$src" -o "$tmp/$model.int8.onnx" "${calib[@]}" --threads 1 --iterations 10 --quiet --report "$tmp/q.json"
  fused=$(field "$tmp/q.json" "['details']['quantization']['onnxruntime_fusion']['ops']")
  for threads in 1 2; do
    a=(); b=()
    for _ in $(seq "$rounds"); do a+=("$(p50 "$src" $threads)"); b+=("$(p50 "$tmp/$model.int8.onnx" $threads)"); done
    fa=$(median "${a[@]}"); fb=$(median "${b[@]}")
    label=$threads; [ "$threads" = 2 ] && label="2 (noisy)"
    printf '%-16s %-8s %10.3f %10.3f %6.2fx   %s\n' "$model" "$label" "$fa" "$fb" "$(echo "$fa / $fb" | bc -l)" "$fused"
  done
done

echo
echo "Fashion-MNIST CNN, full test split, both files in ONNX Runtime:"
$mopt bench build/fixtures/fashion_cnn.onnx --data "$fmnist" --normalize "$norm" --threads 1 --iterations 5 --quiet --report "$tmp/f.json"
$mopt bench "$tmp/fashion_cnn.int8.onnx" --data "$fmnist" --normalize "$norm" --threads 1 --iterations 5 --quiet --report "$tmp/i.json"
fa=$(field "$tmp/f.json" "['metrics']['accuracy']['top1']"); ia=$(field "$tmp/i.json" "['metrics']['accuracy']['top1']")
printf 'fp32 %.2f%%  int8 %.2f%%  drop %.2f points\n' "$(echo "$fa*100" | bc -l)" "$(echo "$ia*100" | bc -l)" "$(echo "($fa-$ia)*100" | bc -l)"

echo
echo "Calibration memory (peak RSS of mopt quantize, MobileNetV2 fixture, inputs repeated to N samples):"
/usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np
x = np.load("build/fixtures/onnx_import/mobilenet_v2.input.npy")
for n in (64, 1024):
    np.save(f"{sys.argv[1]}/calib{n}.npy", (np.resize(x, (n,) + x.shape[1:]) + np.random.default_rng(0).normal(0, 0.1, (n,) + x.shape[1:])).astype(np.float32))
PY
for n in 64 1024; do
  $mopt quantize build/fixtures/onnx_import/mobilenet_v2.onnx -o "$tmp/m$n.onnx" --calib "$tmp/calib$n.npy" --calib-samples $n \
    --calibrator entropy --eval-data build/fixtures/onnx_import/mobilenet_v2.input.npy --iterations 5 --quiet --report "$tmp/m$n.json"
  c="['details']['quantization']['calibration']"
  peak=$(field "$tmp/m$n.json" "$c['peak_rss_mb']"); data=$(field "$tmp/m$n.json" "$c['data_mb']")
  printf '%5d samples (entropy): peak RSS %.0f MB, of which the calibration inputs %.0f MB; the rest %.0f MB\n' \
    $n "$peak" "$data" "$(echo "$peak - $data" | bc -l)"
done
