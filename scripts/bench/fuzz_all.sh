#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints, per target: executions, execs/s,
# coverage (libFuzzer's edge count), corpus size, peak RSS and crashes (inputs saved under
# build-fuzz/crashes/TARGET/). Exit 1 when any target crashed, so CI can run it.
#   bash scripts/bench/fuzz_all.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls tests/fuzz/corpus))
bash scripts/build_fuzz.sh >&2 || exit 1
mkdir -p build-fuzz/logs
printf '%-16s %12s %9s %7s %7s %8s %7s %s\n' target execs execs/s cov corpus rss_mb crashes status
any_crash=0
for t in "${targets[@]}"; do
  log=build-fuzz/logs/$t.log
  before=$(ls build-fuzz/crashes/"$t" 2>/dev/null | wc -l)
  MOPT_FUZZ_NO_BUILD=1 bash scripts/fuzz.sh "$t" "$seconds" >"$log" 2>&1
  rc=$?
  after=$(ls build-fuzz/crashes/"$t" 2>/dev/null | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  rss=$(grep -o 'stat::peak_rss_mb: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  corpus=$(grep -o 'corp: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  crashes=$((after - before))
  status=ok
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status="FAIL (exit $rc; see $log)"
    any_crash=1
  fi
  printf '%-16s %12s %9s %7s %7s %8s %7s %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${corpus:-?}" "${rss:-?}" \
    "$crashes" "$status"
done
exit $any_crash
