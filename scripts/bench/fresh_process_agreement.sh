#!/usr/bin/env bash
# Issue 14, section 1: every latency a command reports is a measurement of the saved files in fresh
# processes. For ResNet-18, MobileNetV2 and the transformer, runs compile, optimize, quantize and
# prune at 1 thread, then measures each file again with `mopt bench` (30 warm-up calls, 100 timed)
# and with an independent PyTorch loop (torch.jit.load in python3, 30 warm-up calls, median of 100:
# scripts/bench/pytorch_latency.py), each in ROUNDS fresh processes (default 3, the same number of
# child processes a command's own figure is the median of; one process's figure can be 10-50% off
# another's on this machine), and prints the ratios of the medians over rounds:
#   reported/bench = the command's reported p50 / mopt bench's p50 of the same file (aim 0.9-1.1)
#   bench/pytorch  = mopt bench's p50 / the PyTorch loop's median (aim 0.9-1.1)
#   spread         = the slowest / the fastest of the file's own ROUNDS `mopt bench` p50s: the same
#                    path, file and command disagreeing with itself. Where it is over 1.1, no two
#                    figures of that file can be expected within 10% of each other.
#   rep spread     = the same for the command's own fresh processes (metrics.SIDE.process_spread)
#   faults/call    = the fewest and most minor page faults per call over those rounds (a page
#                    fault costs ~13 us here, and glibc returns freed memory to the kernel
#                    differently from process to process, as address-space randomization places
#                    its buffers: the main cause of the spread)
# quantize's "before" is its fp32 baseline (frozen + optimized, not a file the user keeps), so only
# its "after" is checked. TUNED_MALLOC=1 runs every process (the commands, their children, mopt
# bench, python3) with the allocator settings of `mopt bench --malloc-tuned`, which take the page
# faults, and so most of the spread between processes, out of every path alike: what remains is
# any bias of one measurement path against another.
# Usage: [ROUNDS=3] [TUNED_MALLOC=1] scripts/bench/fresh_process_agreement.sh [MODEL...]
set -euo pipefail
cd "$(dirname "$0")/../.."
mopt=${MOPT:-build/tools/mopt/mopt}  # MOPT=path: a copy, so a rebuild during the run cannot swap it
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/transformer.pt ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
rounds=${ROUNDS:-3}
allocator="glibc's default allocator settings"
if [ "${TUNED_MALLOC:-0}" = 1 ]; then  # the values of kTunedMallocEnv in lib/measure/memory.h
  export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456
  allocator="MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_ in every process"
fi
models=("${@:-resnet18 mobilenet_v2 transformer}")
read -r -a models <<<"${models[*]}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp" <<'PY'
import numpy as np, sys
rng = np.random.default_rng(0)
np.save(f"{sys.argv[1]}/images.npy", rng.standard_normal((64, 3, 224, 224), dtype=np.float32))
np.save(f"{sys.argv[1]}/tokens.npy", rng.standard_normal((64, 16, 64), dtype=np.float32))
PY

common=(--threads 1 --iterations 60 --quiet)
for name in "${models[@]}"; do
  src=build/fixtures/$name.pt
  if [ "$name" = transformer ]; then shape=1x16x64 data=$tmp/tokens.npy; else shape=1x3x224x224 data=$tmp/images.npy; fi
  echo "== $name: running compile, optimize, quantize, prune ..." >&2
  "$mopt" compile "$src" --profile x86-64-avx512-vnni -o "$tmp/$name.compile.pt" --input-shape "$shape" \
    "${common[@]}" --report "$tmp/$name.compile.json"
  "$mopt" optimize "$src" -p 'freeze,fold-conv-bn,remove-dropout' -o "$tmp/$name.optimize.pt" --input-shape "$shape" \
    "${common[@]}" --report "$tmp/$name.optimize.json"
  if [ "$name" = transformer ]; then
    "$mopt" quantize "$src" --mode dynamic -o "$tmp/$name.quantize.pt" --eval-data "$data" --eval-samples 16 \
      "${common[@]}" --report "$tmp/$name.quantize.json"
    "$mopt" prune "$src" --method magnitude --amount 0.5 -o "$tmp/$name.prune.pt" --input-shape "$shape" \
      "${common[@]}" --report "$tmp/$name.prune.json"
  else
    "$mopt" quantize "$src" -o "$tmp/$name.quantize.pt" --calib "$data" --calib-samples 32 --eval-data "$data" \
      --eval-samples 16 "${common[@]}" --report "$tmp/$name.quantize.json"
    "$mopt" prune "$src" --method channel --amount 0.3 -o "$tmp/$name.prune.pt" --input-shape "$shape" \
      "${common[@]}" --report "$tmp/$name.prune.json"
  fi
  for round in $(seq "$rounds"); do  # rounds alternate the files, as a command's own measurement does
    for file in "$src" "$tmp/$name".{compile,optimize,quantize,prune}.pt; do
      key=$(basename "$file" .pt)
      "$mopt" bench "$file" --input-shape "$shape" --batch 1 --threads 1 --warmup 30 --iterations 100 --quiet \
        --report "$tmp/bench.$key.$round.json"
      /usr/bin/python3 scripts/bench/pytorch_latency.py "$file" "$shape" >"$tmp/pytorch.$key.$round.txt"
    done
  done
done

/usr/bin/python3 - "$tmp" "$rounds" "$allocator" "${models[@]}" <<'PY'
import json, statistics, sys
tmp, rounds, allocator, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def pytorch_ms(key):  # the independent loop: fresh python3 processes, PyTorch's own load path
    return statistics.median(float(open(f"{tmp}/pytorch.{key}.{r}.txt").read()) for r in range(1, rounds + 1))
def bench_rows(key):
    return [json.load(open(f"{tmp}/bench.{key}.{r}.json"))["metrics"]["rows"][0] for r in range(1, rounds + 1)]
def bench_ms(key):
    return statistics.median(row["latency"]["p50_ms"] for row in bench_rows(key))
def bench_spread(key):  # how far the same measurement of the same file moves between processes
    p50s = [row["latency"]["p50_ms"] for row in bench_rows(key)]
    faults = [row["memory"]["page_faults_per_call"] for row in bench_rows(key)]
    return max(p50s) / min(p50s), f"{min(faults):.0f}-{max(faults):.0f}"

print(f"{'model':<13} {'command':<9} {'side':<7} {'reported':>9} {'bench':>9} {'pytorch':>9} {'rep/bench':>10} {'bench/pt':>9}"
      f" {'spread':>7} {'rep spread':>10} {'faults/call':>12}")
worst = []
steady = []  # the ratios of files whose own processes (bench's and the command's) stayed within 10% of each other
for name in models:
    for command in ("compile", "optimize", "quantize", "prune"):
        m = json.load(open(f"{tmp}/{name}.{command}.json"))["metrics"]
        sides = [("after", f"{name}.{command}")]
        if command != "quantize": sides.insert(0, ("before", name))
        for side, key in sides:
            reported = m[side]["latency"]["p50_ms"]; bench = bench_ms(key); pt = pytorch_ms(key)
            spread, faults = bench_spread(key)
            reported_spread = m[side]["process_spread"]
            worst += [reported / bench, bench / pt]
            if max(spread, reported_spread) <= 1.1: steady += [reported / bench, bench / pt]
            print(f"{name:<13} {command:<9} {side:<7} {reported:9.3f} {bench:9.3f} {pt:9.3f} {reported / bench:10.2f} {bench / pt:9.2f}"
                  f" {spread:7.2f} {reported_spread:10.2f} {faults:>12}")
within = lambda ratios: sum(0.9 <= r <= 1.1 for r in ratios)
print(f"\n{within(worst)} of {len(worst)} ratios within 10% (1 thread, batch 1; each figure the median of {rounds} fresh processes;"
      f" {allocator})")
print(f"{within(steady)} of {len(steady)} within 10% among files whose own processes stayed within 10% of each other"
      " (spread and rep spread <= 1.10; where they did not, the command said so)")
PY
