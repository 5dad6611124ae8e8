#!/usr/bin/env bash
# ONNX INT8 in ONNX Runtime vs ONNX Runtime fp32 and vs LibTorch INT8, side by side in one run:
#   - per model: mopt quantize model.onnx -o model.int8.onnx (static QDQ for the CNNs, dynamic for
#     the transformer and LSTMs), and the TorchScript twin quantized by mopt for LibTorch (the peer);
#     then `mopt bench` of the three files in fresh processes, alternating, 1 thread (and 2 threads,
#     labelled: noisy on this shared machine); ratios ORT fp32 / ORT int8 (aim >= 1.8 for ResNet-18,
#     ResNet-50 and MobileNetV2; >= 1.3 for the transformer; bert_mini is the same encoder at
#     BERT-mini size, bench-only) and LibTorch int8 / ORT int8, and ORT's
#     fused counts; for the dynamic models also "bound": ORT fp32 / the same fp32 model with its
#     weight products replaced by near-free nodes (scripts/bench/remove_weight_products.py), the most
#     that any speed-up of those products (INT8 or other) could give;
#   - the Fashion-MNIST CNN: accuracy of both files in ONNX Runtime on the full test split;
#   - calibration memory: peak RSS of `mopt quantize` at 64 and 1024 calibration samples (aim: flat).
#   bash scripts/bench/onnx_int8.sh [ROUNDS] [MODELS]   (MODELS: a quoted subset of the list below;
#   with MODELS only the speed table prints, MOPT_INT8_ALL=1 adds the accuracy and memory sections)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
rounds=${1:-3}
fmnist=/usr/share/datasets/fashion-mnist
norm=0.2860,0.3530
/usr/bin/python3 scripts/bench/onnx_int8_models.py "$tmp/big" >/dev/null  # ResNet-50, LSTM(256) x2, a BERT-mini encoder, twins

# The peer: the TorchScript twin quantized by mopt with LibTorch graph-mode INT8 (static for CNNs,
# dynamic for the transformer and LSTMs), run in LibTorch: today's best LibTorch artifact.
printf '%-16s %-8s %-9s %9s %9s %7s %7s %10s %9s   %s\n' model mode threads "ORT fp32" "ORT int8" ratio bound "LT int8" "LT/ORT8" \
  "ORT INT8 kernels (fused/quantized, fp32 left)"
for model in ${2:-fashion_cnn resnet18 resnet50 mobilenet_v2 transformer bert_mini lstm lstm256}; do
  dir=build/fixtures/onnx_import
  case $model in resnet50|lstm256|bert_mini) dir="$tmp/big" ;; esac
  src=$dir/$model.onnx; twin=$dir/$model.pt; data=(--data "$dir/$model.input.npy")
  mode=static; quant=(--calib "$dir/$model.input.npy")
  case $model in
    fashion_cnn) src=build/fixtures/fashion_cnn.onnx; twin=tests/fixtures/fashion_cnn.pt
                 data=(--data "$fmnist" --normalize "$norm" --samples 64); quant=(--calib "$fmnist" --normalize "$norm") ;;
    transformer|bert_mini|lstm*) mode=dynamic; quant=(--mode dynamic --eval-data "$dir/$model.input.npy") ;;
  esac
  $mopt quantize "$src" -o "$tmp/$model.int8.onnx" "${quant[@]}" --threads 1 --iterations 10 --quiet --report "$tmp/q.json"
  fused=$(field "$tmp/q.json" "['details']['quantization']['onnxruntime_fusion']['ops']")
  bound=no
  if [ $mode = dynamic ]; then
    /usr/bin/python3 scripts/bench/remove_weight_products.py "$src" "$tmp/$model.noproducts.onnx" 2>/dev/null && bound=yes
  fi
  peer=yes
  $mopt quantize "$twin" -o "$tmp/$model.int8.pt" "${quant[@]}" --threads 1 --iterations 10 --quiet 2>/dev/null || peer=no
  for threads in 1 2; do
    a=(); b=(); c=(); d=()
    for _ in $(seq "$rounds"); do
      a+=("$(bench_p50 "$src" $threads "${data[@]}")"); b+=("$(bench_p50 "$tmp/$model.int8.onnx" $threads "${data[@]}")")
      [ $peer = yes ] && c+=("$(bench_p50 "$tmp/$model.int8.pt" $threads "${data[@]}")")
      [ $bound = yes ] && d+=("$(bench_p50 "$tmp/$model.noproducts.onnx" $threads "${data[@]}")")
    done
    fa=$(median "${a[@]}"); fb=$(median "${b[@]}")
    if [ $bound = yes ]; then ceiling=$(printf '%6.2fx' "$(echo "$fa / $(median "${d[@]}")" | bc -l)"); else ceiling=$(printf '%7s' -); fi
    if [ $peer = yes ]; then fc=$(median "${c[@]}"); lt=$(printf '%10.3f %8.2fx' "$fc" "$(echo "$fc / $fb" | bc -l)"); else lt=$(printf '%10s %9s' "failed" "-"); fi
    label=$threads; [ "$threads" = 2 ] && label="2 (noisy)"
    printf '%-16s %-8s %-9s %9.3f %9.3f %6.2fx %s %s   %s\n' "$model" "$mode" "$label" "$fa" "$fb" "$(echo "$fa / $fb" | bc -l)" "$ceiling" "$lt" "$fused"
  done
done

# The accuracy and calibration-memory sections run with the default model list (or MOPT_INT8_ALL=1).
[ -z "${2:-}" ] || [ "${MOPT_INT8_ALL:-0}" = 1 ] || exit 0

echo
echo "Fashion-MNIST CNN, full test split, both files in ONNX Runtime:"
[ -f "$tmp/fashion_cnn.int8.onnx" ] || $mopt quantize build/fixtures/fashion_cnn.onnx -o "$tmp/fashion_cnn.int8.onnx" \
  --calib "$fmnist" --normalize "$norm" --threads 1 --iterations 10 --quiet
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
