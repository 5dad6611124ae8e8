#!/usr/bin/env bash
# Makes mopt's GPU artifacts here (no GPU needed: the passes are device-independent) for a GPU machine
# to check with gpu_artifacts.py, which needs only PyTorch there. For each model: NAME.fp32.pt (the
# scripted input), NAME.frozen.pt (remove-dropout,fold-conv-bn,freeze) and NAME.fp16.pt (the
# datacenter-gpu profile's pipeline: ...,channels-last,compute-fp16), written by `mopt compile`.
# Usage: bash scripts/bench/gpu_artifacts.sh OUT_DIR [NAME...]   (default: mobilenet_v2 efficientnet_b0)
# Then, on the GPU machine (carry OUT_DIR): python3 scripts/bench/gpu_artifacts.py OUT_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=$1; shift
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(mobilenet_v2 efficientnet_b0)
mkdir -p "$out"
/usr/bin/python3 "$(dirname "$0")/torchvision_models.py" "$out" "${names[@]}"
gpu_pipeline=$(/usr/bin/python3 -c "import json; print(json.load(open('profiles/datacenter-gpu.json'))['compile_pipeline'])")
for name in "${names[@]}"; do
  mv "$out/$name.pt" "$out/$name.fp32.pt"
  for variant in frozen fp16; do
    pipeline="remove-dropout,fold-conv-bn,freeze"
    [ $variant = fp16 ] && pipeline=$gpu_pipeline
    # --device cpu: checked against the input here (fp16 is emulated on this CPU), not timed.
    $mopt compile "$out/$name.fp32.pt" --profile datacenter-gpu --device cpu -p "$pipeline" -o "$out/$name.$variant.pt" \
      --input-shape 2x3x224x224 --no-latency --force --quiet --report "$out/$name.$variant.json"
  done
done
ls -la "$out"
