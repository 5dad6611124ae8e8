# Shared by the benchmark scripts that source it: build, fixtures, a scratch folder and the
# helpers every side-by-side measurement uses. Sets $mopt and $tmp; run from the repository root.
set -euo pipefail
bash scripts/build.sh mopt >/dev/null
[ -f build/fixtures/onnx_import/index.json ] || bash scripts/make_fixtures.sh build/fixtures >/dev/null
mopt=build/tools/mopt/mopt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# field REPORT.json "['metrics']['rows'][0]": one value of a JSON report.
field() { /usr/bin/python3 -c "import json,sys; r=json.load(open('$1')); print(eval('r' + sys.argv[1]))" "$2"; }
# bench_p50 MODEL THREADS [BENCH ARGS...]: p50 (ms) of `mopt bench` in a fresh process, 200 calls.
bench_p50() {
  $mopt bench "$1" --threads "$2" --iterations 200 --quiet --report "$tmp/b.json" "${@:3}"
  field "$tmp/b.json" "['metrics']['rows'][0]['latency']['p50_ms']"
}
# median X...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
