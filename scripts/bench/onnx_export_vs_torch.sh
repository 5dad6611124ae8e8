#!/usr/bin/env bash
# mopt's ONNX export vs PyTorch's torch.onnx.export of the same model, both run in ONNX Runtime
# (issue 12's acceptance: ratio mopt p50 / torch p50 <= 1.05). The torch.onnx.export files are the
# ONNX import fixtures (scripts/fixtures/onnx_import_fixtures.py); mopt exports their TorchScript
# twins with `mopt optimize NAME.pt -p freeze -o NAME.onnx`. Each figure: median p50 of fresh
# `mopt bench` processes, alternating, at 1 thread (2 threads labelled: noisy on this machine).
#   bash scripts/bench/onnx_export_vs_torch.sh [ROUNDS] [MODELS]   (MODELS: a quoted subset of the list below)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
rounds=${1:-3}
dir=build/fixtures/onnx_import
shape_of() {  # NAME -> the fixture's input shape at batch 1, e.g. 1x3x224x224
  /usr/bin/python3 -c "
import json; m=[m for m in json.load(open('$dir/index.json'))['models'] if m['name']=='$1'][0]
print('x'.join(['1'] + [str(d) for d in m['input_shape'][1:]]))"
}

printf '%-16s %-9s %12s %12s %7s   %s\n' model threads "torch.onnx ms" "mopt ms" ratio "outputs (mopt export vs PyTorch)"
for model in ${2:-resnet18 mobilenet_v2 efficientnet_b0 shufflenet_v2 transformer lstm gru}; do
  if ! $mopt optimize "$dir/$model.pt" -p freeze -o "$tmp/$model.onnx" --input-shape "$(shape_of $model)" --quiet \
       2>"$tmp/err.txt"; then
    printf '%-16s %-9s %12s %12s %7s   export fails: %s\n' "$model" - - - - "$(tail -1 "$tmp/err.txt" | cut -c1-110)"
    continue
  fi
  $mopt bench "$tmp/$model.onnx" --data "$dir/$model.input.npy" --reference "$dir/$model.pt" --iterations 5 --quiet \
    --report "$tmp/agree.json"
  agree=$(/usr/bin/python3 -c "
import json; a=json.load(open('$tmp/agree.json'))['metrics']['agreement']; print(f\"max abs diff {a['max_abs_diff']:.2g}, cosine {a['cosine']:.6f}\")")
  for threads in 1 2; do
    a=(); b=()
    for _ in $(seq "$rounds"); do
      a+=("$(bench_p50 "$dir/$model.onnx" $threads --data "$dir/$model.input.npy" --samples 1)")
      b+=("$(bench_p50 "$tmp/$model.onnx" $threads --data "$dir/$model.input.npy" --samples 1)")
    done
    fa=$(median "${a[@]}"); fb=$(median "${b[@]}")
    label=$threads; [ "$threads" = 2 ] && label="2 (noisy)"
    printf '%-16s %-9s %12.3f %12.3f %6.3fx   %s\n' "$model" "$label" "$fa" "$fb" "$(echo "$fb / $fa" | bc -l)" "$agree"
  done
done
