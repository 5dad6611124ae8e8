#!/usr/bin/env bash
# Two mopt builds side by side in one run: the same files, `mopt bench` at 1 thread, batch 1, one fresh
# process per figure, ROUNDS rounds alternating A and B, median p50 and the ratio B/A. For a change of
# LibTorch: keep the old binary and its library folder, e.g.
#   cp build/tools/mopt/mopt /tmp/mopt-old; cp -r .venv/lib/python3.11/site-packages/torch/lib /tmp/torch-old-lib
#   (switch LibTorch, rebuild)
#   A=/tmp/mopt-old A_LIBS=/tmp/torch-old-lib B=build/tools/mopt/mopt bash scripts/bench/ab_binaries.sh 3 resnet18 fashion_cnn
# MODEL: torchvision names (random weights, scripts/bench/torchvision_models.py) or fashion_cnn. Each model is
# measured as scripted and as `mopt compile --profile x86-64-avx2` made by each binary (A's file on A, B's on B).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2 shufflenet_v2_x1_0 fashion_cnn)
: "${A:?A=path of the first mopt binary}" "${B:?B=path of the second mopt binary}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

run() {  # run SIDE ARGS...: the mopt of side A or B, with its libraries
  local side=$1; shift
  if [ "$side" = A ]; then LD_LIBRARY_PATH=${A_LIBS:-} "$A" "$@"; else LD_LIBRARY_PATH=${B_LIBS:-} "$B" "$@"; fi
}

declare -A shape
for name in "${models[@]}"; do
  case $name in
    fashion_cnn) cp tests/fixtures/fashion_cnn.pt "$tmp/"; shape[$name]=1x1x28x28 ;;
    *) /usr/bin/python3 scripts/bench/torchvision_models.py "$tmp" "$name" >/dev/null; shape[$name]=1x3x224x224 ;;
  esac
  for side in A B; do
    run $side compile "$tmp/$name.pt" -o "$tmp/$name.compiled.$side.pt" --profile x86-64-avx2 --threads 1 \
      --input-shape "${shape[$name]}" --quiet
  done
done

p50() {  # p50 SIDE FILE SHAPE
  run "$1" bench "$2" --input-shape "$3" --threads 1 --iterations 200 --warmup 20 --quiet --report "$tmp/r.json" &&
    /usr/bin/python3 -c "import json; print(json.load(open('$tmp/r.json'))['metrics']['rows'][0]['latency']['p50_ms'])"
}

printf '%-22s %-9s %10s %10s %8s\n' model form "A p50 ms" "B p50 ms" "B/A"
for name in "${models[@]}"; do
  for form in scripted compiled; do
    a=(); b=()
    for _ in $(seq "$rounds"); do
      fa=$tmp/$name.pt; fb=$tmp/$name.pt
      [ $form = compiled ] && fa=$tmp/$name.compiled.A.pt && fb=$tmp/$name.compiled.B.pt
      a+=("$(p50 A "$fa" "${shape[$name]}")"); b+=("$(p50 B "$fb" "${shape[$name]}")")
    done
    /usr/bin/python3 - "$name" "$form" "${a[*]}" "${b[*]}" <<'EOF'
import statistics, sys
name, form, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{name:<22} {form:<9} {ma:10.3f} {mb:10.3f} {mb / ma:8.2f}")
EOF
  done
done
