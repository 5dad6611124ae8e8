#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints, per target: executions, execs/s,
# coverage (libFuzzer's edge count), corpus size, peak RSS, wall seconds and crashes (inputs saved
# under build-fuzz/crashes/TARGET/). Exit 1 when any target crashed, so CI can run it.
#   bash scripts/bench/fuzz_all.sh [SECONDS] [TARGET...]
#   MOPT_FUZZ_RUNS=1000000    stop a target once it has executed this many inputs (issue 16's aim)
#   MOPT_FUZZ_PARALLEL=2      fuzz this many targets at once, one process each (default 1)
#   MOPT_FUZZ_SEED=1          libFuzzer's random seed (CI fixes it so that a failure reproduces)
#   MOPT_FUZZ_REPLAY_ONLY="a b"   these targets only replay their corpus and regressions (-runs=0):
#                             CI's choice for torchscript, whose mutations reach a known SEGV in
#                             LibTorch's TorchScript compiler (tests/fuzz/known/README.md)
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls tests/fuzz/corpus))
runs=${MOPT_FUZZ_RUNS:-0}
parallel=${MOPT_FUZZ_PARALLEL:-1}
bash scripts/build_fuzz.sh >&2 || exit 1
mkdir -p build-fuzz/logs

# One target: its libFuzzer log, exit code and crash count go to build-fuzz/logs/TARGET.*.
fuzz_one() {
  local t=$1 log=build-fuzz/logs/$1.log before after start rc
  before=$(ls build-fuzz/crashes/"$t" 2>/dev/null | wc -l)
  start=$(date +%s)
  limit=()
  [ "$runs" -gt 0 ] && limit+=(-runs="$runs")
  [ -n "${MOPT_FUZZ_SEED:-}" ] && limit+=(-seed="$MOPT_FUZZ_SEED")
  [[ " ${MOPT_FUZZ_REPLAY_ONLY:-} " == *" $t "* ]] && limit+=(-runs=0)
  MOPT_FUZZ_NO_BUILD=1 bash scripts/fuzz.sh "$t" "$seconds" "${limit[@]}" >"$log" 2>&1
  rc=$?
  after=$(ls build-fuzz/crashes/"$t" 2>/dev/null | wc -l)
  echo "$rc $((after - before)) $(( $(date +%s) - start ))" >"build-fuzz/logs/$t.result"
}

running=0
for t in "${targets[@]}"; do
  rm -f "build-fuzz/logs/$t.result"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

printf '%-16s %12s %9s %7s %7s %8s %7s %7s %s\n' target execs execs/s cov corpus rss_mb wall_s crashes status
any_crash=0
for t in "${targets[@]}"; do
  log=build-fuzz/logs/$t.log
  read -r rc crashes wall <"build-fuzz/logs/$t.result" || { rc=1; crashes=0; wall=?; }
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  corpus=$(grep -o 'corp: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  status=ok
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status="FAIL (exit $rc; see $log)"
    any_crash=1
  fi
  printf '%-16s %12s %9s %7s %7s %8s %7s %7s %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${corpus:-?}" "${rss:-?}" \
    "$wall" "$crashes" "$status"
done
exit $any_crash
