# Data-parallel distillation and prune fine-tuning over c10d Gloo on loopback: two ranks train
# what one process trains, only rank 0 writes, a killed rank stops the other with a clear error
# and the last checkpoint resumes, mismatched or missing ranks fail instead of hanging.
source "$(dirname "$0")/lib.sh"
TEACHER="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
STUDENT="$FIXTURES/fashion_student.pt"
FMNIST=/usr/share/datasets/fashion-mnist
data=(--train "$FMNIST" --val "$FMNIST" --normalize 0.2860,0.3530 --val-samples 1000 --threads 1 --recipe fixed)
port=$((20000 + RANDOM % 20000))
py() { "$PY" -c "$1" || fail "$2"; }

# two_ranks OUT_PREFIX ARGS...: rank 0 and rank 1 of one run; exit codes in $WORK/OUT_PREFIX.rc{0,1}.
two_ranks() {
  local name=$1; shift
  port=$((port + 1))
  "$MOPT" "$@" --world-size 2 --rank 0 --master-port $port >"$WORK/$name.out0" 2>"$WORK/$name.err0" &
  local rank0=$!
  RANK=1 WORLD_SIZE=2 MASTER_PORT=$port MASTER_ADDR=127.0.0.1 "$MOPT" "$@" >"$WORK/$name.out1" 2>"$WORK/$name.err1"
  echo $? >"$WORK/$name.rc1"
  wait $rank0
  echo $? >"$WORK/$name.rc0"
}

# One process, then two ranks (the second configured by the launcher's environment), same global
# batch and epochs: the same student within a point, and only rank 0 wrote the artifact and report.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" --train-samples 3000 \
  --epochs 2 --batch-size 64 -o "$WORK/one.pt" --report "$WORK/one.json"
two_ranks dp distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" --train-samples 3000 \
  --epochs 2 --batch-size 64 -o "$WORK/two.pt" --report "$WORK/two.json"
[ "$(cat "$WORK/dp.rc0")/$(cat "$WORK/dp.rc1")" = "0/0" ] || fail "two ranks exited $(cat "$WORK/dp.rc0")/$(cat "$WORK/dp.rc1"): $(tail -c 400 "$WORK/dp.err0") $(tail -c 400 "$WORK/dp.err1")"
validate_report "$WORK/two.json"
grep -q "all 2 ranks joined" "$WORK/dp.err0" || fail "rank 0 did not say the ranks joined"
[ ! -s "$WORK/dp.out1" ] && [ ! -s "$WORK/dp.err1" ] || fail "rank 1 printed: $(head -c 300 "$WORK/dp.out1" "$WORK/dp.err1")"
py "
import json
one = json.load(open('$WORK/one.json'))['details']['distillation']
two = json.load(open('$WORK/two.json'))['details']['distillation']
assert two['training']['world_size'] == 2 and one['training']['world_size'] == 1, two['training']
assert two['training']['steps'] == one['training']['steps'], (one['training']['steps'], two['training']['steps'])
a, b = one['distilled']['val_accuracy'], two['distilled']['val_accuracy']
assert abs(a - b) < 0.01, (a, b)
assert b > 0.7, b" "two ranks train the student one process trains"
py "
import torch; m = torch.jit.load('$WORK/two.pt'); assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)" "rank 0's student loads"
[ ! -e "$WORK/two.pt.ckpt" ] || fail "default checkpoint left after success"

# kill -9 one rank after the first epoch: the other exits 1 at once, naming the checkpoint;
# both ranks resumed from it finish the run.
port=$((port + 1))
slow=(distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" --train-samples 12000 --epochs 3 --batch-size 64
      -o "$WORK/k.pt" --dist-timeout 60)
"$MOPT" "${slow[@]}" --world-size 2 --master-port $port --rank 0 >/dev/null 2>"$WORK/k.err0" &
rank0=$!
"$MOPT" "${slow[@]}" --world-size 2 --master-port $port --rank 1 >/dev/null 2>&1 &
rank1=$!
for _ in $(seq 3000); do [ -e "$WORK/k.pt.ckpt" ] && break; sleep 0.1; done  # 5 min: a sanitized build trains ~3x slower
[ -e "$WORK/k.pt.ckpt" ] || fail "no checkpoint after the first epoch"
kill -9 $rank1
killed=$(date +%s)
wait $rank0
rc0=$?
waited=$(($(date +%s) - killed))
[ "$rc0" -eq 1 ] || fail "rank 0 exited $rc0 after its peer was killed, expected 1"
[ "$waited" -lt 30 ] || fail "rank 0 took ${waited}s to notice its peer was gone"
grep -q "lost contact with the other ranks" "$WORK/k.err0" || fail "no clear message: $(tail -c 400 "$WORK/k.err0")"
grep -q -- "--resume $WORK/k.pt.ckpt" "$WORK/k.err0" || fail "no resume hint: $(tail -c 400 "$WORK/k.err0")"
[ ! -e "$WORK/k.pt" ] || fail "an artifact was written by a failed run"
wait $rank1 2>/dev/null
two_ranks resume "${slow[@]}" --resume "$WORK/k.pt.ckpt"
[ "$(cat "$WORK/resume.rc0")/$(cat "$WORK/resume.rc1")" = "0/0" ] || fail "resumed ranks exited $(cat "$WORK/resume.rc0")/$(cat "$WORK/resume.rc1"): $(tail -c 400 "$WORK/resume.err0")"
grep -q "resumed from" "$WORK/resume.err0" || fail "rank 0 did not resume"
[ -e "$WORK/k.pt" ] || fail "the resumed run wrote no student"

# Ranks with different settings: the odd one says so (exit 2), the other does not hang (exit 1).
port=$((port + 1))
odd=(distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" --train-samples 500 --epochs 1 -o "$WORK/m.pt"
     --world-size 2 --master-port $port --dist-timeout 60)
"$MOPT" "${odd[@]}" --rank 0 --seed 1 >/dev/null 2>"$WORK/mismatch.err0" &
rank0=$!
"$MOPT" "${odd[@]}" --rank 1 --seed 2 >/dev/null 2>"$WORK/mismatch.err1"
echo $? >"$WORK/mismatch.rc1"
wait $rank0
echo $? >"$WORK/mismatch.rc0"
rc="$(cat "$WORK/mismatch.rc0")/$(cat "$WORK/mismatch.rc1")"
[ "$rc" = "1/2" ] || fail "ranks with different seeds exited $rc, expected 1/2"
grep -q "differ from rank 0" "$WORK/mismatch.err1" || fail "no 'differ from rank 0' message: $(tail -c 300 "$WORK/mismatch.err1")"
[ ! -e "$WORK/m.pt" ] || fail "ranks with different settings wrote a student"

# A rank alone never hangs: the rendezvous gives up after --dist-timeout.
expect_exit 1 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" --train-samples 500 --epochs 1 \
  -o "$WORK/alone.pt" --world-size 2 --rank 1 --master-port $((port + 50)) --dist-timeout 3
expect_stderr "are all ranks started"
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${data[@]}" -o "$WORK/x.pt" --world-size 2 --rank 2
expect_stderr "outside a world of 2"

# Only prune's fine-tuning is data-parallel: ranks without it would each prune and write.
expect_exit 2 -- "$MOPT" prune "$TEACHER" -o "$WORK/np.pt" --method channel --amount 0.3 --input-shape 1x1x28x28 \
  --world-size 2 --rank 0
expect_stderr "only fine-tuning runs data-parallel"

# Prune fine-tuning on two ranks: rank 0 measures and writes.
two_ranks prune prune "$TEACHER" -o "$WORK/p.pt" --method channel --amount 0.3 --finetune-data "$FMNIST" \
  --finetune-samples 2000 --eval-data "$FMNIST" --eval-samples 500 --normalize 0.2860,0.3530 --epochs 1 --threads 1 --no-latency \
  --report "$WORK/p.json"
[ "$(cat "$WORK/prune.rc0")/$(cat "$WORK/prune.rc1")" = "0/0" ] || fail "prune ranks exited $(cat "$WORK/prune.rc0")/$(cat "$WORK/prune.rc1"): $(tail -c 400 "$WORK/prune.err0") $(tail -c 400 "$WORK/prune.err1")"
py "
import json; r = json.load(open('$WORK/p.json')); f = r['details']['pruning']['finetune']
assert f['world_size'] == 2 and r['metrics']['after']['accuracy']['top1'] > 0.5, (f, r['metrics']['after'])" "prune fine-tuned on two ranks"

finish
