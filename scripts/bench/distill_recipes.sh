#!/usr/bin/env bash
# Issue 18 acceptance: `mopt distill` with its defaults (the auto recipe) on the teacher/student
# pair of scripts/fixtures/distill_pair.py (the 91.2% teacher committed in tests/fixtures, the
# untrained 21k-parameter student) at equal budgets, over several seeds, on the full Fashion-MNIST
# train/test splits. Prints per run the labels-only baseline (same init, seed and budget), the
# recipe the search chose and its accuracy, what shipped, and every candidate; then the means.
# Usage: scripts/bench/distill_recipes.sh [EPOCH_BUDGETS] [SEEDS] [THREADS] [EXTRA FLAGS...]
#   e.g. scripts/bench/distill_recipes.sh "1 5" 3 2
# JOBS=K runs K trainings at once (accuracy does not depend on it; JOBS=2 with 1 thread halves the
# wall time on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
budgets=${1:-"1 5"}
seeds=${2:-3}
threads=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/fashion_student_small.pt ] || bash scripts/make_fixtures.sh >/dev/null
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "teacher tests/fixtures/fashion_teacher.pt, student build/fixtures/fashion_student_small.pt; batch 128, Adam 1e-3," \
     "$threads thread(s), full train split, full test split; extra flags: ${*:-none}"
train_one() {  # [EXTRA FLAGS...] EPOCHS SEED (xargs appends the last two)
  local epochs=${*: -2:1} seed=${*: -1}
  set -- "${@:1:$#-2}"
  build/tools/mopt/mopt distill --teacher tests/fixtures/fashion_teacher.pt \
    --student build/fixtures/fashion_student_small.pt --train $data --val $data --normalize 0.2860,0.3530 \
    --epochs "$epochs" --batch-size 128 --seed "$seed" --threads "$threads" "$@" \
    -o "$tmp/s.$epochs.$seed.pt" --quiet --report "$tmp/r.$epochs.$seed.json"
}
export -f train_one; export data tmp threads
for epochs in $(tr ' ' '\n' <<<"$budgets" | sort -rn); do  # longest first, for JOBS > 1
  for seed in $(seq 0 $((seeds - 1))); do echo "$epochs $seed"; done
done | xargs -P "${JOBS:-1}" -L 1 bash -c 'train_one "$@"' _ "$@"
/usr/bin/python3 - "$tmp" "$budgets" "$seeds" <<'PY'
import json, statistics, sys
tmp, budgets, seeds = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
print(f"{'epochs':>6} {'seed':>4} {'labels-only':>11} {'chosen recipe':<22} {'chosen':>7} {'shipped':>8} {'gain':>6}  candidates (held-out %)")
for e in budgets:
    base, chosen, shipped = [], [], []
    for s in range(seeds):
        d = json.load(open(f"{tmp}/r.{e}.{s}.json"))["details"]["distillation"]
        b = 100 * d["baseline_ce"]["val_accuracy"]; c = 100 * d["distilled"]["val_accuracy"]
        sh = 100 * d["student"]["val_accuracy_after"]
        base.append(b); chosen.append(c); shipped.append(sh)
        name = d["recipe"]["chosen"].get("loss", "?")
        if name != "labels-only":
            name = next(x["name"] for x in d["recipe"].get("candidates", [{"name": name, "settings": d["recipe"]["chosen"]}])
                        if x["settings"] == d["recipe"]["chosen"])
        cands = ", ".join(f"{x['name']} {100 * x['holdout_accuracy']:.2f}" for x in d["recipe"].get("candidates", []))
        print(f"{e:>6} {s:>4} {b:>11.2f} {name:<22} {c:>7.2f} {sh:>8.2f} {sh - b:>+6.2f}  {cands}")
    print(f"{e:>6} mean {statistics.mean(base):>11.2f} {'':<22} {statistics.mean(chosen):>7.2f} {statistics.mean(shipped):>8.2f} "
          f"{statistics.mean(shipped) - statistics.mean(base):>+6.2f}")
PY
