#!/usr/bin/env bash
# Channel rounding (issue 14, section 3): ResNet-18 channel-pruned at 30% with kept counts left as
# the amount asks (--round-to 1: 45/90/180/359), rounded to 8 (the default) and to 16 (profile
# x86-64-avx512-vnni: 48/96/176/432; the last stage is raised to stay on LibTorch's oneDNN path at
# batch 1, see lib/prune/slow_convolutions.h). Each file is measured as a user gets it: `mopt bench` in a
# fresh process, warmed up at the measured shape, at 1 and 2 threads, ROUNDS rounds alternating
# between the files; the median p50 per file and thread count is printed with the speedups.
# Usage: scripts/bench/prune_round_to.sh [ROUNDS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
iterations=${2:-30}
mopt=${MOPT:-build/tools/mopt/mopt}  # MOPT, FIXTURES: as prune_acceptance.sh passes them on
fixtures=${FIXTURES:-build/fixtures}
[ -x "$mopt" ] || bash scripts/build.sh mopt >/dev/null
[ -f "$fixtures/resnet18.pt" ] || bash scripts/make_fixtures.sh "$fixtures" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prune=(prune "$fixtures/resnet18.pt" --method channel --amount 0.3 --input-shape 1x3x224x224 --threads 1
       --iterations 3 --quiet)
"$mopt" "${prune[@]}" -o "$tmp/r1.pt" --round-to 1
"$mopt" "${prune[@]}" -o "$tmp/r8.pt"
"$mopt" "${prune[@]}" -o "$tmp/r16.pt" --profile x86-64-avx512-vnni
cp "$fixtures/resnet18.pt" "$tmp/original.pt"
for round in $(seq 1 "$rounds"); do
  for name in original r1 r8 r16; do
    "$mopt" bench "$tmp/$name.pt" --input-shape 1x3x224x224 --threads 1,2 --warmup 10 --iterations "$iterations" \
      --quiet --report "$tmp/$name.$round.json"
  done
done
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys, torch
tmp, rounds = sys.argv[1], int(sys.argv[2])
names = {"original": "ResNet-18", "r1": "30%, --round-to 1", "r8": "30%, --round-to 8", "r16": "30%, --round-to 16"}
p50 = {}
busy = []
for name in names:
    for threads in (1, 2):
        values = []
        for r in range(1, rounds + 1):
            report = json.load(open(f"{tmp}/{name}.{r}.json"))
            busy.append(report["environment"].get("foreign_load_cores", 0.0))
            values += [row["latency"]["p50_ms"] for row in report["metrics"]["rows"] if row["threads"] == threads]
        p50[name, threads] = statistics.median(values)
for name, label in names.items():
    s = torch.jit.load(f"{tmp}/{name}.pt").state_dict()
    widths = [s[k].shape[0] for k in ("conv1.weight", "layer2.0.conv1.weight", "layer3.0.conv1.weight", "layer4.0.conv1.weight")]
    row = "  ".join(f"{t} thread{'s' if t > 1 else ''}: p50 {p50[name, t]:7.2f} ms ({p50['original', t] / p50[name, t]:.2f}x)"
                    for t in (1, 2))
    print(f"{label:<20} channels {'/'.join(map(str, widths)):<16} {row}")
for t in (1, 2):
    print(f"rounded to 16 vs unrounded, {t} thread(s): {p50['r1', t] / p50['r16', t]:.2f}x; "
          f"to 8 vs unrounded: {p50['r1', t] / p50['r8', t]:.2f}x")
print(f"median of {rounds} fresh-process rounds; other processes used up to {max(busy):.2f} cores meanwhile")
PY
