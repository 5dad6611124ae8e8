#!/usr/bin/env bash
# The same INT8 TorchScript files timed under each quantized engine LibTorch offers here (x86, onednn,
# fbgemm): `mopt bench FILE --engine E` in fresh processes, 1 thread, batch 1, ROUNDS rounds alternating
# the engines; prints the median p50 per engine and onednn / x86. Packed weights are re-packed for the
# active engine when a file loads, so one file serves every engine.
#   bash scripts/bench/quantized_engines.sh ROUNDS SHAPE FILE.int8.pt...
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=$1 shape=$2; shift 2
mopt=${MOPT:-build/tools/mopt/mopt}
report=$(mktemp); trap 'rm -f "$report"' EXIT
printf '%-28s %9s %9s %9s %12s\n' file x86 onednn fbgemm onednn/x86
for file in "$@"; do
  declare -A samples=()
  for _ in $(seq "$rounds"); do
    for engine in x86 onednn fbgemm; do
      "$mopt" bench "$file" --engine "$engine" --threads 1 --batch 1 --input-shape "$shape" --iterations 60 --quiet --report "$report"
      samples[$engine]+=" $(python3 -c "import json; print(json.load(open('$report'))['metrics']['rows'][0]['latency']['p50_ms'])")"
    done
  done
  python3 - "$file" "${samples[x86]}" "${samples[onednn]}" "${samples[fbgemm]}" <<'PY'
import os, statistics, sys
name, *columns = sys.argv[1:]
p = [statistics.median(map(float, c.split())) for c in columns]
print(f"{os.path.basename(name):<28} {p[0]:9.3f} {p[1]:9.3f} {p[2]:9.3f} {p[1] / p[0]:12.2f}")
PY
  unset samples
done
echo "ms per call, p50 of fresh processes, median of $rounds rounds"
