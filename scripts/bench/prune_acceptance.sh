#!/usr/bin/env bash
# Issue acceptance for `mopt prune`, figures measured side by side in one run by mopt itself:
# 1. the Fashion-MNIST fixture CNN, channel-pruned to 50% and fine-tuned briefly against the
#    original's soft targets: >= 1.6x faster (p50, batch 1) and within 1.0 accuracy point on the
#    full test split; the artifact loads in PyTorch;
# 2. torchvision ResNet-18 (residual adds) channel-pruned at 30%: smaller, same output shape, faster;
# 3. channel counts rounded to hardware-friendly multiples: scripts/bench/prune_round_to.sh prints the
#    speedups at 1 and 2 threads, each file measured by `mopt bench` in a fresh process.
# Usage: scripts/bench/prune_acceptance.sh [FINETUNE_SAMPLES] [EPOCHS] [THREADS]
# MOPT=binary and FIXTURES=dir (what ctest's label `acceptance` passes) skip the build and use that binary and fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
samples=${1:-60000}
epochs=${2:-2}
threads=${3:-1}
mopt=${MOPT:-build/tools/mopt/mopt}
fixtures=${FIXTURES:-build/fixtures}
[ -n "${MOPT:-}" ] || bash scripts/build.sh mopt >/dev/null
[ -f "$fixtures/resnet18.pt" ] || bash scripts/make_fixtures.sh "$fixtures" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
"$mopt" prune tests/fixtures/fashion_cnn.pt -o "$tmp/cnn.pt" --method channel --amount 0.5 \
  --finetune-data $data --finetune-samples "$samples" --epochs "$epochs" --teacher tests/fixtures/fashion_cnn.pt \
  --eval-data $data --normalize 0.2860,0.3530 --threads "$threads" --iterations 500 --quiet --report "$tmp/cnn.json"
"$mopt" prune "$fixtures/resnet18.pt" -o "$tmp/r18.pt" --method channel --amount 0.3 \
  --input-shape 1x3x224x224 --threads "$threads" --iterations 50 --quiet --report "$tmp/r18.json"
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys, torch
tmp = sys.argv[1]
r = json.load(open(f"{tmp}/cnn.json")); m = r["metrics"]; t = m["totals"]
drop = 100 * (m["before"]["accuracy"]["top1"] - m["after"]["accuracy"]["top1"])
print(f"fashion CNN, 50% channels + fine-tune: params {t['before']['parameters']} -> {t['after']['parameters']}, "
      f"MACs {t['mac_ratio']:.2f}x, p50 {m['before']['latency']['p50_ms']:.3f} -> {m['after']['latency']['p50_ms']:.3f} ms")
print(f"  speedup {m['speedup_p50']:.2f}x (aim >= 1.6): {'PASS' if m['speedup_p50'] >= 1.6 else 'FAIL'}")
print(f"  accuracy {100*m['before']['accuracy']['top1']:.2f}% -> {100*m['after']['accuracy']['top1']:.2f}% "
      f"(drop {drop:+.2f} pt, limit 1.0): {'PASS' if drop <= 1.0 else 'FAIL'}")
model = torch.jit.load(f"{tmp}/cnn.pt")
print(f"  loads in PyTorch: output {tuple(model(torch.randn(1, 1, 28, 28)).shape)}")
r = json.load(open(f"{tmp}/r18.json")); m = r["metrics"]; t = m["totals"]
model = torch.jit.load(f"{tmp}/r18.pt"); shape = tuple(model(torch.randn(1, 3, 224, 224)).shape)
ok = t["after"]["parameters"] < t["before"]["parameters"] and shape == (1, 1000) and m["speedup_p50"] > 1.0
print(f"ResNet-18, 30% channels: params {t['before']['parameters']} -> {t['after']['parameters']}, "
      f"output {shape}, p50 {m['before']['latency']['p50_ms']:.2f} -> {m['after']['latency']['p50_ms']:.2f} ms "
      f"({m['speedup_p50']:.2f}x): {'PASS' if ok else 'FAIL'}")
print(f"other processes used {r['environment']['foreign_load_cores']:.2f} cores during the ResNet run")
PY
bash scripts/bench/prune_round_to.sh
