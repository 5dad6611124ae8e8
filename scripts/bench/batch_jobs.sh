#!/usr/bin/env bash
# mopt batch (issue 15): the wall time of 8 static-INT8 quantize jobs on the Fashion-MNIST CNN run
# three ways, alternating in one run: `mopt batch --jobs 1` (one job at a time, all cores each),
# `mopt batch --jobs 2` (two at a time, cores split between them) and 8 separate `mopt quantize`
# calls one after another (what a script does today). Every round starts from empty state, so
# nothing is cached. Prints the median wall time per way and the ratios to the separate calls.
# Usage: scripts/bench/batch_jobs.sh [ROUNDS] [CALIB_SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
calib=${2:-256}
mopt=$PWD/build/tools/mopt/mopt
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/models"
for i in $(seq 1 8); do cp tests/fixtures/fashion_cnn.pt "$tmp/models/cnn$i.pt"; done
FMNIST=/usr/share/datasets/fashion-mnist
flags=(--calib "$FMNIST" --calib-samples "$calib" --eval-data "$FMNIST" --eval-samples 500 --normalize 0.2860,0.3530 --iterations 20)
cat >"$tmp/batch.json" <<EOF
{"defaults": {"command": "quantize", "output": "out/{stem}.int8.pt",
  "flags": {"calib": "$FMNIST", "calib-samples": $calib, "eval-data": "$FMNIST", "eval-samples": 500,
            "normalize": "0.2860,0.3530", "iterations": 20}},
 "jobs": [{"model": "models/*.pt"}]}
EOF
now() { date +%s.%N; }
: >"$tmp/times"
for round in $(seq 1 "$rounds"); do
  for way in jobs1 jobs2 separate; do
    rm -rf "$tmp/out" "$tmp/batch.batch"
    start=$(now)
    case $way in
      jobs1) "$mopt" batch "$tmp/batch.json" --jobs 1 --quiet ;;
      jobs2) "$mopt" batch "$tmp/batch.json" --jobs 2 --quiet ;;
      separate)
        mkdir -p "$tmp/out"
        for i in $(seq 1 8); do "$mopt" quantize "$tmp/models/cnn$i.pt" -o "$tmp/out/cnn$i.int8.pt" "${flags[@]}" --quiet; done ;;
    esac
    end=$(now)
    [ "$(ls "$tmp/out" | wc -l)" -eq 8 ] || { echo "round $round $way: expected 8 artifacts" >&2; exit 1; }
    awk -v w="$way" -v s="$start" -v e="$end" 'BEGIN { printf "%s %.3f\n", w, e - s }' >>"$tmp/times"
  done
done
/usr/bin/python3 - "$tmp/times" "$rounds" "$(nproc)" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    way, seconds = line.split()
    times.setdefault(way, []).append(float(seconds))
rounds, cores = sys.argv[2], sys.argv[3]
base = statistics.median(times["separate"])
print(f"8 quantize jobs (Fashion-MNIST CNN, static INT8), {cores} cores, median of {rounds} rounds, wall time:")
labels = {"separate": "8 separate mopt quantize calls", "jobs1": "mopt batch --jobs 1", "jobs2": "mopt batch --jobs 2"}
for way in ("separate", "jobs1", "jobs2"):
    m = statistics.median(times[way])
    print(f"  {labels[way]:<32} {m:7.1f} s   ({base / m:4.2f}x vs separate calls)   runs: {', '.join(f'{t:.1f}' for t in times[way])}")
PY
