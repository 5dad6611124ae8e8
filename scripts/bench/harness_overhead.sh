#!/usr/bin/env bash
# Harness fidelity: mopt bench's p50 vs a bare LibTorch timing loop over the same call, measured
# alternately in one run on the same machine. Prints each round and the ratio of medians
# (aim: within 2%, i.e. ratio <= 1.02).
# Usage: scripts/bench/harness_overhead.sh [MODEL] [SHAPE] [ITERATIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-tests/fixtures/fashion_cnn.pt}
shape=${2:-1x1x28x28}
iterations=${3:-300}
rounds=${4:-5}
bash scripts/build.sh mopt mopt_bare_loop >/dev/null
mopt=build/tools/mopt/mopt
bare=build/scripts/bench/mopt_bare_loop
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
threads=$(nproc)

mopt_p50=(); bare_p50=()
for r in $(seq "$rounds"); do
  $mopt bench "$model" --input-shape "$shape" --iterations "$iterations" --threads "$threads" --quiet --report "$tmp/r.json"
  m=$(/usr/bin/python3 -c "import json;print(json.load(open('$tmp/r.json'))['metrics']['rows'][0]['latency']['p50_ms'])")
  b=$($bare "$model" "$shape" "$iterations" "$threads")
  printf 'round %d: mopt bench p50 %.4f ms   bare loop p50 %.4f ms\n' "$r" "$m" "$b"
  mopt_p50+=("$m"); bare_p50+=("$b")
done
/usr/bin/python3 - "${mopt_p50[*]}" "${bare_p50[*]}" <<'PY'
import statistics, sys
m = statistics.median(map(float, sys.argv[1].split()))
b = statistics.median(map(float, sys.argv[2].split()))
print(f"median of rounds: mopt bench {m:.4f} ms, bare loop {b:.4f} ms, ratio {m / b:.3f} (aim <= 1.02)")
PY
