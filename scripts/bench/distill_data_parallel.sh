#!/usr/bin/env bash
# Issue 15 acceptance for data-parallel distillation: the same run (teacher
# tests/fixtures/fashion_teacher.pt, 21k-parameter student build/fixtures/fashion_student_small.pt,
# full Fashion-MNIST train/test splits, fixed recipe, global batch 128) as 1 process x 1 thread and
# as 2 processes x 1 thread on loopback, alternating, per seed. Prints the accuracies (aim: within
# 0.3 points), training throughput (samples/s over the optimizer steps, both ranks' rows counted)
# and whole-command wall time, with the 2-process / 1-process ratios (aim: >= 1.6x throughput).
# Also the machine's ceiling for any 2-process scheme: two independent 1-process runs started
# together (no communication at all), their summed throughput over one run alone.
# Usage: scripts/bench/distill_data_parallel.sh [EPOCHS] [SEEDS]   e.g. scripts/bench/distill_data_parallel.sh 3 2
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-3}
seeds=${2:-2}
source scripts/bench/lib.sh
[ -f build/fixtures/fashion_student_small.pt ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
cp "$mopt" "$tmp/mopt"  # a rebuild during the run must not swap the binary under it
data=/usr/share/datasets/fashion-mnist
run=(distill --teacher tests/fixtures/fashion_teacher.pt --student build/fixtures/fashion_student_small.pt
     --train $data --val $data --normalize 0.2860,0.3530 --recipe fixed --epochs "$epochs" --batch-size 128
     --threads 1 --quiet)
port=$((30000 + RANDOM % 20000))
seconds_since() { awk -v start="$1" -v now="$(date +%s.%N)" 'BEGIN { print now - start }'; }
echo "$(uptime | sed 's/.*load/load/'); $epochs epoch(s), global batch 128, 1 thread per process"
for seed in $(seq 0 $((seeds - 1))); do
  start=$(date +%s.%N)
  "$tmp/mopt" "${run[@]}" --seed "$seed" -o "$tmp/one.$seed.pt" --report "$tmp/one.$seed.json"
  seconds_since "$start" >"$tmp/one.$seed.wall"
  port=$((port + 1))
  start=$(date +%s.%N)
  "$tmp/mopt" "${run[@]}" --seed "$seed" -o "$tmp/two.$seed.pt" --report "$tmp/two.$seed.json" \
    --world-size 2 --rank 0 --master-port $port &
  "$tmp/mopt" "${run[@]}" --seed "$seed" -o "$tmp/two.$seed.pt" --world-size 2 --rank 1 --master-port $port
  wait
  seconds_since "$start" >"$tmp/two.$seed.wall"
  start=$(date +%s.%N)
  "$tmp/mopt" "${run[@]}" --seed "$seed" -o "$tmp/free_a.$seed.pt" --report "$tmp/free_a.$seed.json" &
  "$tmp/mopt" "${run[@]}" --seed "$seed" -o "$tmp/free_b.$seed.pt" --report "$tmp/free_b.$seed.json"
  wait
  seconds_since "$start" | tee "$tmp/free_a.$seed.wall" >"$tmp/free_b.$seed.wall"
done
/usr/bin/python3 - "$tmp" "$seeds" <<'PY'
import json, sys
tmp, seeds = sys.argv[1], int(sys.argv[2])
def run(kind, seed):
    d = json.load(open(f"{tmp}/{kind}.{seed}.json"))["details"]["distillation"]
    return (100 * d["distilled"]["val_accuracy"], d["training"]["samples_per_s"],
            float(open(f"{tmp}/{kind}.{seed}.wall").read()), d["training"]["world_size"])
print(f"{'seed':>4} {'acc 1p':>7} {'acc 2p':>7} {'diff':>6}   {'train samples/s 1p':>18} {'2p':>7} {'ratio':>6}"
      f"   {'wall s 1p':>9} {'2p':>6} {'ratio':>6}")
diffs, ratios, ceilings = [], [], []
for s in range(seeds):
    a1, t1, w1, n1 = run("one", s)
    a2, t2, w2, n2 = run("two", s)
    assert (n1, n2) == (1, 2), (n1, n2)
    diffs.append(a2 - a1); ratios.append(t2 / t1)
    ceilings.append((run("free_a", s)[1] + run("free_b", s)[1]) / t1)
    print(f"{s:>4} {a1:>7.2f} {a2:>7.2f} {a2 - a1:>+6.2f}   {t1:>18.0f} {t2:>7.0f} {t2 / t1:>5.2f}x   {w1:>9.1f} {w2:>6.1f} {w1 / w2:>5.2f}x")
worst = max(abs(d) for d in diffs)
print(f"accuracy: largest |2p - 1p| {worst:.2f} points (aim <= 0.3): {'met' if worst <= 0.3 else 'NOT met'}")
low = min(ratios)
print(f"training throughput 2 processes / 1 process: {', '.join(f'{r:.2f}x' for r in ratios)} "
      f"(aim >= 1.6x in every run): {'met' if low >= 1.6 else 'NOT met'}")
print(f"machine ceiling, two independent 1-process runs together / one alone: {', '.join(f'{c:.2f}x' for c in ceilings)}; "
      f"data-parallel reaches {', '.join(f'{r / c:.0%}' for r, c in zip(ratios, ceilings))} of it")
PY
