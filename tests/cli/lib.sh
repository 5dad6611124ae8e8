# Helpers for CLI end-to-end tests. ctest sets MOPT (binary), FIXTURES and SOURCE_DIR.
set -u
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# mopt's own temp folders (and those of the commands a test kills) go under $WORK and go with it.
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
failures=0
# The project's Python (.venv/): ONNX 1.23's checker (the version mopt links), numpy, PyTorch 2.x.
PY="$SOURCE_DIR/.venv/bin/python"

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_exit CODE -- command...: runs the command, checks its exit code, keeps stderr in $WORK/err.
# With MOPT_TEST_TIMES=FILE, appends each command's wall milliseconds to FILE (to find a test's slow steps).
expect_exit() {
  local want=$1; shift; shift
  local start=$EPOCHREALTIME
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  [ -z "${MOPT_TEST_TIMES:-}" ] || echo "$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 )) ms $(basename "$0"): $*" >>"$MOPT_TEST_TIMES"
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$WORK/err")"
}

expect_stderr() { grep -q -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(head -c 400 "$WORK/err")"; }
expect_stdout() { grep -q -- "$1" "$WORK/out" || fail "stdout lacks '$1'"; }

# validate_report FILE: checks a report against the shipped JSON schema.
validate_report() {
  /usr/bin/python3 - "$1" "$SOURCE_DIR/lib/report/report.schema.json" <<'PY' || fail "report $1 does not validate"
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
PY
}

finish() {
  if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
