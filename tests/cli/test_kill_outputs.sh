# SIGKILL at random points: `mopt quantize`, `compile`, `prune --finetune-data` and `distill` are
# killed (several seeds, fixed so a failure reproduces) while they load, calibrate, train, measure
# or write. Afterwards every output path either does not exist or is complete (the artifact loads
# in PyTorch, the report is JSON): outputs are written to a temp file and renamed. The input is
# untouched (sha256); killed `distill`/`prune` runs resume from their checkpoint to the same weights
# as an uninterrupted run. Kept to about a minute and a half: small data, a few iterations. Each command's kill delay
# spans a little more than its whole run here (3.5-7 s on a loaded 2-core machine), so the kills
# land in loading, calibration/training, the fresh-process latency runs and the final write. Then
# SIGTERM and SIGINT, which a command catches to clean up (below).
source "$(dirname "$0")/lib.sh"
FMNIST=/usr/share/datasets/fashion-mnist
IN="$WORK/in"
mkdir -p "$IN"
cp "$SOURCE_DIR/tests/fixtures/fashion_cnn.pt" "$IN/cnn.pt"
cp "$FIXTURES/fashion_student.pt" "$IN/student.pt"
before=$(cd "$IN" && sha256sum cnn.pt student.pt)
norm=(--normalize 0.2860,0.3530 --threads 1)

# run_and_kill NAME SEED MAX_MS -- command...: starts the command in its own process group (its
# latency children die with it), SIGKILLs the group after a seeded delay in [150, MAX_MS] ms.
run_and_kill() {
  local name=$1 seed=$2 max_ms=$3; shift 4
  RANDOM=$seed
  local delay_ms=$(( 150 + RANDOM % (max_ms - 150) ))
  setsid "$@" >"$WORK/$name.out" 2>&1 &
  local pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "$name killed after ${delay_ms} ms" >&2
}

mkdir -p "$WORK/out"
for seed in 11 23 37; do
  O="$WORK/out/$seed"
  mkdir -p "$O"
  run_and_kill "quantize-$seed" "$seed" 8000 -- "$MOPT" quantize "$IN/cnn.pt" -o "$O/q.pt" --calib "$FMNIST" \
    --calib-samples 64 --eval-data "$FMNIST" --eval-samples 200 --iterations 5 "${norm[@]}" --report "$O/q.json"
  run_and_kill "compile-$seed" "$((seed + 1))" 4500 -- "$MOPT" compile "$IN/cnn.pt" --profile x86-64-avx512-vnni -o "$O/c.pt" \
    --input-shape 1x1x28x28 --iterations 5 --threads 1 --report "$O/c.json"
  run_and_kill "prune-$seed" "$((seed + 2))" 7500 -- "$MOPT" prune "$IN/cnn.pt" -o "$O/p.pt" --method channel --amount 0.5 \
    --finetune-data "$FMNIST" --finetune-samples 256 --epochs 1 --eval-data "$FMNIST" --eval-samples 200 \
    --iterations 5 "${norm[@]}" --report "$O/p.json"
  run_and_kill "distill-$seed" "$((seed + 3))" 5500 -- "$MOPT" distill --teacher "$IN/cnn.pt" --student "$IN/student.pt" \
    --train "$FMNIST" --val "$FMNIST" --train-samples 256 --val-samples 128 --epochs 1 "${norm[@]}" -o "$O/d.pt" \
    --report "$O/d.json"
done

# Whatever exists at an output path is whole. Hidden temp files (.NAME.tmp-PID) are the only
# thing a kill may leave, and never under an output's own name.
/usr/bin/python3 - "$WORK/out" <<'PY' || fail "an output path holds a partial file"
import json, os, sys, torch
bad = []
seen = temps = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        if name.startswith("."):
            temps += 1
            continue  # a temp file the kill interrupted; never the output's own name
        seen += 1
        try:
            if name.endswith(".json"):
                json.load(open(path))
            elif name.endswith(".pt") or ".ckpt" in name:
                torch.jit.load(path)  # artifacts, and training checkpoints (serialized archives)
            else:
                raise RuntimeError("unexpected file")
        except Exception as e:
            bad.append(f"{path}: {e}")
print(f"{seen} complete output file(s) checked, {temps} interrupted temp file(s) left", file=sys.stderr)
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
# The next write of an output removes the temp files killed runs left for it (their PIDs are gone).
O="$WORK/out/11"
for i in 1 2; do echo partial > "$O/.c.pt.tmp-$((4194300 + i))"; done
# (not expect_exit: this test's $WORK/out is the outputs' folder)
"$MOPT" compile "$IN/cnn.pt" --profile x86-64-avx512-vnni -o "$O/c.pt" --input-shape 1x1x28x28 --iterations 5 --threads 1 \
  --force >"$WORK/rewrite.out" 2>&1 || fail "the rewrite of c.pt failed: $(tail -c 300 "$WORK/rewrite.out")"
left=$(find "$O" -name '.c.pt.tmp-*' | wc -l)
[ "$left" -eq 0 ] || fail "$left stale temp file(s) of c.pt survived the next write"

# SIGTERM and Ctrl-C (SIGINT), unlike SIGKILL, can be caught: a command stopped by one while it
# times its files ends its `mopt bench` child, leaves no scratch folder (model copies) and no temp
# file, and still ends by that signal (status 128+N).
for sig in TERM INT; do
  T="$WORK/tmp-$sig" O="$WORK/signal-$sig"
  mkdir -p "$T" "$O"
  set -m  # job control: a background job then keeps SIGINT (a non-interactive shell ignores it there)
  TMPDIR=$T "$MOPT" compile "$IN/cnn.pt" --profile x86-64-avx512-vnni -o "$O/c.pt" --input-shape 1x1x28x28 \
    --iterations 2000 --threads 1 >"$WORK/signal-$sig.out" 2>&1 &
  pid=$!
  set +m
  for _ in $(seq 1 1200); do
    compgen -G "$T/mopt-fresh-*/round*.log" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  compgen -G "$T/mopt-fresh-*/round*.log" >/dev/null || fail "SIG$sig: compile never started timing its files"
  kill "-$sig" "$pid"
  wait "$pid"
  status=$? want=$((128 + $(kill -l "$sig")))
  [ "$status" -eq "$want" ] || fail "SIG$sig: compile exited $status, expected $want: $(tail -c 300 "$WORK/signal-$sig.out")"
  pgrep -f "$T" >/dev/null && fail "SIG$sig: a child of the stopped compile is still running"
  left=$(find "$T" "$O" -mindepth 1 | head -3)
  [ -z "$left" ] || fail "SIG$sig left files behind: $left"
done

# Killed training resumes from its last checkpoint and ends exactly where an uninterrupted run ends:
# each command runs once whole, then again SIGKILLed as soon as its first epoch's checkpoint exists,
# then with --resume; the two artifacts must hold identical weights.
weights_equal() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, torch
a, b = (torch.jit.load(p).state_dict() for p in sys.argv[1:3])
diff = [k for k in a if not torch.equal(a[k], b[k])]
sys.exit(f"weights differ after resume: {diff[:5]}" if diff or a.keys() != b.keys() else 0)
PY
}
R="$WORK/resume"
mkdir -p "$R"
train_cmd() {  # train_cmd NAME: the command line, writing $R/NAME.pt with its checkpoint at $R/NAME.ckpt
  case $1 in
    distill*) echo "$MOPT" distill --teacher "$IN/cnn.pt" --student "$IN/student.pt" --train "$FMNIST" --val "$FMNIST" \
                --train-samples 1024 --val-samples 128 --epochs 3 --seed 5 "${norm[@]}" -o "$R/$1.pt" --checkpoint "$R/$1.ckpt" ;;
    prune*) echo "$MOPT" prune "$IN/cnn.pt" -o "$R/$1.pt" --method channel --amount 0.5 --finetune-data "$FMNIST" \
                --finetune-samples 1024 --epochs 3 --seed 5 --eval-data "$FMNIST" --eval-samples 128 --iterations 3 \
                "${norm[@]}" --checkpoint "$R/$1.ckpt" ;;
  esac
}
for cmd in distill prune; do
  # shellcheck disable=SC2046
  $(train_cmd "$cmd-whole") >"$WORK/$cmd-whole.out" 2>&1 || fail "$cmd (uninterrupted) failed: $(tail -c 300 "$WORK/$cmd-whole.out")"
  # shellcheck disable=SC2046
  setsid $(train_cmd "$cmd-killed") >"$WORK/$cmd-killed.out" 2>&1 &
  pid=$!
  # Up to 5 min: under the sanitizers distill's recipe search alone takes ~60 s before its first checkpoint.
  for _ in $(seq 1 6000); do [ -e "$R/$cmd-killed.ckpt" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -KILL -- "-$pid" 2>/dev/null; then echo "$cmd killed after its first checkpoint" >&2; else echo "$cmd finished before the kill" >&2; fi
  wait "$pid" 2>/dev/null
  [ -e "$R/$cmd-killed.ckpt" ] || fail "$cmd wrote no checkpoint before it was killed or finished"
  # shellcheck disable=SC2046
  $(train_cmd "$cmd-killed") --resume "$R/$cmd-killed.ckpt" >"$WORK/$cmd-resumed.out" 2>&1 \
    || fail "$cmd --resume failed: $(tail -c 300 "$WORK/$cmd-resumed.out")"
  weights_equal "$R/$cmd-whole.pt" "$R/$cmd-killed.pt" || fail "$cmd: killed + resumed differs from the uninterrupted run"
done
after=$(cd "$IN" && sha256sum cnn.pt student.pt)
[ "$before" = "$after" ] || fail "an input changed: $after"
# The kills really interrupted something: not every run got to write its artifact.
n_artifacts=$(find "$WORK/out" -name '[qcpd].pt' | wc -l)
[ "$n_artifacts" -lt 12 ] || fail "all 12 runs finished before the kill; the test killed nothing"
finish
