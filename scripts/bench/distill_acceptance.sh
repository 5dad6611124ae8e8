#!/usr/bin/env bash
# Issue acceptance for `mopt distill` on Fashion-MNIST: the fixture CNN teacher (90.4% test
# accuracy) distilled into the untrained ~49k-parameter student for a fixed short budget must beat
# the same student trained on labels only (--baseline-ce: same init, seed and budget) on the full
# test split (aim +0.5 points), over several seeds. Then mopt's training throughput is compared
# with the equivalent eager PyTorch loop (scripts/bench/distill_throughput.py), run alternately
# in the same session with the same thread count (aim: ratio >= 1, i.e. not slower).
# Usage: scripts/bench/distill_acceptance.sh [TRAIN_SAMPLES] [EPOCHS] [SEEDS] [THREADS]
# MOPT=binary and FIXTURES=dir (what ctest's label `acceptance` passes) skip the build and use that binary and fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
samples=${1:-10000}
epochs=${2:-2}
seeds=${3:-3}
threads=${4:-1}
mopt=${MOPT:-build/tools/mopt/mopt}
fixtures=${FIXTURES:-build/fixtures}
[ -n "${MOPT:-}" ] || bash scripts/build.sh mopt >/dev/null
[ -f "$fixtures/fashion_student.pt" ] || bash scripts/make_fixtures.sh "$fixtures" >/dev/null
data=/usr/share/datasets/fashion-mnist
teacher=tests/fixtures/fashion_cnn.pt
student=$fixtures/fashion_student.pt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "budget: $samples training samples x $epochs epochs, batch 64, Adam 1e-3, T=3, alpha=0.7, $threads thread(s)"
for seed in $(seq 0 $((seeds - 1))); do
  "$mopt" distill --teacher $teacher --student $student --train $data --val $data \
    --normalize 0.2860,0.3530 --train-samples "$samples" --epochs "$epochs" --seed "$seed" --baseline-ce --recipe fixed \
    --threads "$threads" -o "$tmp/student.$seed.pt" --quiet --report "$tmp/distill.$seed.json"
done
for round in 1 2; do
  "$mopt" distill --teacher $teacher --student $student --train $data --val $data \
    --normalize 0.2860,0.3530 --train-samples "$samples" --epochs "$epochs" --threads "$threads" --recipe fixed \
    -o "$tmp/throughput.pt" --force --quiet --report "$tmp/mopt.$round.json"
  /usr/bin/python3 scripts/bench/distill_throughput.py $teacher $student $data "$samples" "$epochs" 64 "$threads" \
    > "$tmp/torch.$round.json"
done
/usr/bin/python3 - "$tmp" "$seeds" <<'PY'
import json, statistics, sys
tmp, seeds = sys.argv[1], int(sys.argv[2])
gains = []
for seed in range(seeds):
    m = json.load(open(f"{tmp}/distill.{seed}.json"))["metrics"]
    gains.append(m["gain_over_baseline_points"])
    print(f"seed {seed}: teacher {100*m['teacher']['accuracy']:.2f}%  distilled {100*m['student']['accuracy_after']:.2f}%  "
          f"baseline-ce {100*m['baseline_ce']['accuracy']:.2f}%  gain {m['gain_over_baseline_points']:+.2f} pt")
mean = statistics.mean(gains)
print(f"mean gain {mean:+.2f} pt over {seeds} seeds (aim >= +0.5): {'PASS' if mean >= 0.5 else 'FAIL'}")
ratios = []
for r in (1, 2):
    ours = json.load(open(f"{tmp}/mopt.{r}.json"))
    theirs = json.load(open(f"{tmp}/torch.{r}.json"))
    ratio = ours["metrics"]["training"]["samples_per_s"] / theirs["samples_per_s"]
    ratios.append(ratio)
    print(f"round {r}: mopt {ours['metrics']['training']['samples_per_s']:.0f} samples/s, "
          f"PyTorch {theirs['samples_per_s']:.0f} samples/s, ratio {ratio:.2f} "
          f"(other processes used {ours['environment']['foreign_load_cores']:.2f} cores during mopt's run)")
best = max(ratios)
print(f"throughput ratio mopt/PyTorch {statistics.median(ratios):.2f} median, {best:.2f} best (aim: median >= 1.0): "
      f"{'PASS' if statistics.median(ratios) >= 1.0 else 'FAIL'}")
PY
