#!/usr/bin/env bash
# Issue 14, section 2: x86 compile (profile x86-64-avx512-vnni, --keep-if-faster, which now tries
# channels-last before oneDNN layouts) vs PyTorch's own in-memory torch.jit.optimize_for_inference
# (which PyTorch cannot save and reload) vs the input, on torchvision models with random weights.
# Every figure is a fresh python3 process: torch.jit.load, 1 thread, 30 warm-up calls, median of 100,
# ROUNDS rounds alternating the three; the median over rounds is printed with the ratios
# (aim: compiled/ofi <= 1.0 and compiled/input <= 1.0).
# Usage: scripts/bench/compile_vs_pytorch.sh [ROUNDS] [MODEL...]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2 mobilenet_v3_small shufflenet_v2_x1_0 squeezenet1_0 efficientnet_b0)
mopt=${MOPT:-build/tools/mopt/mopt}  # MOPT=path: a copy, so a rebuild during the run cannot swap it
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 scripts/bench/torchvision_models.py "$tmp" "${models[@]}"  # random weights, settled BatchNorm
for name in "${models[@]}"; do
  echo "== compiling $name ..." >&2
  "$mopt" compile "$tmp/$name.pt" --profile x86-64-avx512-vnni --keep-if-faster --threads 1 --iterations 60 \
    --input-shape 1x3x224x224 -o "$tmp/$name.compiled.pt" --report "$tmp/$name.json" --quiet
done

/usr/bin/python3 - "$tmp" "$rounds" "${models[@]}" <<'PY'
import json, statistics, subprocess, sys
tmp, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def ms(path, mode):  # scripts/bench/pytorch_latency.py: a fresh python3 process per figure
    return float(subprocess.run([sys.executable, "scripts/bench/pytorch_latency.py", path, "1x3x224x224", mode],
                                check=True, capture_output=True, text=True).stdout)
print(f"{'model':<20} {'input':>8} {'pytorch ofi':>12} {'compiled':>9} {'comp/ofi':>9} {'comp/input':>11}  kept pipeline")
for name in models:
    runs = {"input": [], "ofi": [], "compiled": []}
    for _ in range(rounds):
        runs["input"].append(ms(f"{tmp}/{name}.pt", "plain"))
        runs["ofi"].append(ms(f"{tmp}/{name}.pt", "ofi"))
        runs["compiled"].append(ms(f"{tmp}/{name}.compiled.pt", "plain"))
    med = {k: statistics.median(v) for k, v in runs.items()}
    kept = json.load(open(f"{tmp}/{name}.json"))["details"]["compile"]["kept_pipeline"]
    print(f"{name:<20} {med['input']:8.2f} {med['ofi']:12.2f} {med['compiled']:9.2f} {med['compiled'] / med['ofi']:9.2f} "
          f"{med['compiled'] / med['input']:11.2f}  {kept}")
print("(ms, 1 thread, batch 1, fresh process per figure, median of", rounds, "rounds)")
PY
