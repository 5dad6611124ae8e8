# mopt distill: a real teacher and student on Fashion-MNIST (small budget), feature pairs,
# the labels-only baseline, Ctrl-C and exact resume, and bad input caught before training.
source "$(dirname "$0")/lib.sh"
TEACHER="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
STUDENT="$FIXTURES/fashion_student.pt"
FMNIST=/usr/share/datasets/fashion-mnist
small=(--train "$FMNIST" --val "$FMNIST" --normalize 0.2860,0.3530 --train-samples 2000 --val-samples 1000 --threads 1)
fixed=(--recipe fixed)
tiny=(--train "$FMNIST" --val "$FMNIST" --normalize 0.2860,0.3530 --train-samples 1000 --val-samples 1000 --threads 1)
py() { "$PY" -c "$1" || fail "$2"; }

# Distillation with feature pairs (64-channel teacher map vs 32-channel student map: projected;
# logits vs logits: same width, no projection) and the cross-entropy baseline; the student
# learns, the artifact loads in PyTorch in eval mode.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/s.pt" \
  --epochs 2 --feature-pair features.7:features.7 --feature-pair classifier.5:classifier.3 --baseline-ce \
  --report "$WORK/d.json"
validate_report "$WORK/d.json"
expect_stdout "baseline (labels only)"
expect_stderr "distill epoch 2/2"
py "
import json; r=json.load(open('$WORK/d.json')); m=r['metrics']; d=r['details']['distillation']
assert m['teacher']['accuracy']>0.85, m
assert m['student']['accuracy_before']<0.3 and m['student']['accuracy_after']>0.7, m
assert 0.5<m['baseline_ce']['accuracy']<1 and 'gain_over_baseline_points' in m, m
assert set(m['training']['final_loss'])=={'total','kd','ce','feature'}, m['training']
assert len(d['training']['epochs'])==2 and all('val_accuracy' in e for e in d['training']['epochs']), d['training']
assert m['training']['samples_per_s']>0" "distill report"
py "
import torch; m=torch.jit.load('$WORK/s.pt'); assert not m.training
assert m(torch.randn(3,1,28,28)).shape==(3,10)
assert 'mopt::tap' not in str(m.forward.graph)" "distilled student loads in PyTorch"
[ ! -e "$WORK/s.pt.ckpt" ] && [ ! -e "$WORK/s.pt.ckpt.baseline" ] || fail "default checkpoints left after success"

# Lite-interpreter output.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/s.ptl" --epochs 1 \
  --recipe fixed
py "
import torch
from torch.jit.mobile import _load_for_lite_interpreter
m=_load_for_lite_interpreter('$WORK/s.ptl'); assert m(torch.randn(1,1,28,28)).shape==(1,10)" ".ptl loads in the lite interpreter"

# ONNX output: the trained student is exported and checked in ONNX Runtime on the validation data.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/s.onnx" --epochs 1 \
  --recipe fixed --no-latency --report "$WORK/do.json"
expect_stdout "ONNX file in ONNX Runtime vs the trained student in LibTorch"
validate_report "$WORK/do.json"
py "
import json, onnx; r=json.load(open('$WORK/do.json')); x=r['metrics']['onnx_export']
assert x['runtime']=={'before': 'libtorch', 'after': 'onnxruntime'} and x['agreement']['cosine']>0.9999, x
assert abs(x['before']['accuracy']['top1']-x['after']['accuracy']['top1'])<0.002, x
assert abs(x['before']['accuracy']['top1']-r['metrics']['student']['accuracy_after'])<0.002, (x, r['metrics']['student'])
onnx.checker.check_model(onnx.load('$WORK/s.onnx'), full_check=True)" "distill to .onnx"

# Interrupted after 40 steps (as Ctrl-C would be): exit 130, checkpoint kept, no artifact; resume
# finishes with exactly the weights of an uninterrupted run.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/full.pt" --epochs 2 "${fixed[@]}"
expect_exit 130 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/r.pt" --epochs 2 "${fixed[@]}" \
  --stop-after-steps 40 --checkpoint "$WORK/r.ckpt"
expect_stderr "resume"
[ -s "$WORK/r.ckpt" ] || fail "no checkpoint after an interruption"
[ ! -e "$WORK/r.pt" ] || fail "an interrupted run wrote its artifact"
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/r.pt" --epochs 2 "${fixed[@]}" \
  --checkpoint "$WORK/r.ckpt" --resume "$WORK/r.ckpt"
expect_stderr "resumed from"
py "
import torch
a=torch.jit.load('$WORK/full.pt').state_dict(); b=torch.jit.load('$WORK/r.pt').state_dict()
assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]" "resumed run equals the uninterrupted one"

# Mixed precision (fp16 autocast with loss scaling) on the CPU: measured against fp32 first and
# reported; an interrupted run resumes its loss scale too, ending with exactly the uninterrupted weights.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" -o "$WORK/amp.pt" --epochs 2 \
  "${fixed[@]}" --amp fp16 --report "$WORK/amp.json"
expect_stdout "training precision"
py "
import json, torch; r=json.load(open('$WORK/amp.json')); m=r['metrics']; t=r['details']['distillation']['training']
p=m['training']['precision']; assert p['amp']=='fp16' and p['precision']=='fp16' and t['precision']=='fp16', (p, t)
assert set(p['measured_samples_per_s'])=={'fp32', 'fp16'} and p['speedup_vs_fp32']>0, p
assert t['loss_scaling']['final_scale']>=1 and t['loss_scaling']['skipped_steps']>=0, t
assert m['student']['accuracy_after']>0.6, m['student']
assert all(x.dtype==torch.float32 for x in torch.jit.load('$WORK/amp.pt').parameters())" "distill --amp fp16 report"
expect_exit 130 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" -o "$WORK/ampr.pt" --epochs 2 \
  "${fixed[@]}" --amp fp16 --stop-after-steps 20 --checkpoint "$WORK/amp.ckpt"
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" -o "$WORK/ampr.pt" --epochs 2 \
  "${fixed[@]}" --amp fp16 --checkpoint "$WORK/amp.ckpt" --resume "$WORK/amp.ckpt"
py "
import torch
a=torch.jit.load('$WORK/amp.pt').state_dict(); b=torch.jit.load('$WORK/ampr.pt').state_dict()
assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]" "resumed fp16 run equals the uninterrupted one"
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" -o "$WORK/amp2.pt" --amp fp8
expect_stderr "--amp must be off, fp16, bf16 or auto"

# A real SIGINT mid-run: exits 130 cleanly, leaving a checkpoint and no artifact.
"$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/sig.pt" --epochs 200 "${fixed[@]}" \
  --checkpoint "$WORK/sig.ckpt" >"$WORK/sig.out" 2>"$WORK/sig.err" &
pid=$!
for _ in $(seq 1 300); do grep -q "distill epoch 1/200" "$WORK/sig.err" && break; sleep 0.2; done
kill -INT $pid
wait $pid; code=$?
[ "$code" -eq 130 ] || fail "SIGINT: exit $code, expected 130: $(tail -c 300 "$WORK/sig.err")"
[ -s "$WORK/sig.ckpt" ] && [ ! -e "$WORK/sig.pt" ] || fail "SIGINT: checkpoint missing or artifact written"

# The auto recipe (the default with labels) on a 1,000-sample run: every candidate is listed with
# its held-out accuracy, the labels-only baseline is trained, and the better student is written.
expect_exit 0 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" \
  -o "$WORK/auto.pt" --epochs 1 --report "$WORK/auto.json"
validate_report "$WORK/auto.json"
expect_stdout "recipe search"
expect_stdout "labels-only"
expect_stdout "dkd T=4"
py "
import json, torch; r=json.load(open('$WORK/auto.json')); d=r['details']['distillation']; m=r['metrics']
c=d['recipe']['candidates']; assert d['recipe']['mode']=='auto' and len(c)>=4, d['recipe']
assert c[0]['name']=='labels-only' and c[0]['holdout_accuracy']>0.2 and all(0<=x['holdout_accuracy']<=1 for x in c), c  # chance is 0.1
names=[x['name'] for x in c]; assert any(n.startswith('ls ') for n in names) and any(n.startswith('dkd ') for n in names), names
assert 'baseline_ce' in d and d['verdict'], d.keys()
assert m['student']['accuracy_after']>=max(d['distilled']['val_accuracy'], d['baseline_ce']['val_accuracy'])-1e-9, (m, d)
shipped=torch.jit.load('$WORK/auto.pt'); acc=d['baseline_ce']['val_accuracy'] if d['shipped']=='baseline' else d['distilled']['val_accuracy']
assert abs(acc-m['student']['accuracy_after'])<1e-9" "auto recipe report"

# --require-gain: a gain the run cannot reach is a failed gate (exit 3) and no artifact; an
# augmented fixed recipe runs the teacher per batch and reports both throughputs.
expect_exit 3 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${tiny[@]}" \
  -o "$WORK/gain.pt" --epochs 1 --recipe fixed --loss ls --temperature 2 --alpha 0.9 --augment shift,flip \
  --require-gain 50 --report "$WORK/gain.json"
expect_stderr "no artifact written"
[ ! -e "$WORK/gain.pt" ] || fail "--require-gain miss wrote its artifact"
py "
import json; r=json.load(open('$WORK/gain.json')); g=r['gates']; m=r['metrics']
assert r['verdict']=='fail' and g[0]['name']=='require-gain' and not g[0]['passed'], g
assert m['training']['samples_per_s']>0 and m['baseline_ce']['samples_per_s']>0, m
assert r['details']['distillation']['settings']['augment']['flip'] is True" "require-gain report"

# Bad input, caught before training: exit 4 (or 2 for bad flags) and no artifact.
/usr/bin/python3 - "$WORK" "$SOURCE_DIR/scripts/fixtures" <<'PY' || fail "making bad-input fixtures"
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[2]); from fashion_student import FashionStudent
s = FashionStudent(); s.classifier[3] = torch.nn.Linear(28, 12)
torch.jit.script(s).save(sys.argv[1] + "/wide.pt")
np.save(sys.argv[1] + "/x.npy", np.random.rand(8, 1, 28, 28).astype(np.float32))
np.save(sys.argv[1] + "/y.npy", np.array([0, 1, 2, 3, 4, 5, 6, 10]))
np.save(sys.argv[1] + "/flat.npy", np.random.rand(8, 784).astype(np.float32))
np.save(sys.argv[1] + "/y8.npy", np.arange(8) % 10)
PY
expect_exit 4 -- "$MOPT" distill --teacher "$TEACHER" --student "$WORK/wide.pt" "${small[@]}" -o "$WORK/bad1.pt"
expect_stderr "the teacher has 10 outputs and the student 12"
expect_exit 4 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" --train "$WORK/x.npy" --train-labels "$WORK/y.npy" \
  -o "$WORK/bad2.pt"
expect_stderr "labels go up to 10"
expect_exit 4 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" --train "$WORK/flat.npy" --train-labels "$WORK/y8.npy" \
  -o "$WORK/bad3.pt"
expect_stderr "cannot run on the training inputs"
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad4.pt" --alpha 1.5
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad5.pt" --feature-pair oops
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad6.pt" \
  --feature-pair features.7:nope
expect_stderr "no layer 'nope'"
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad7.pt" --loss kl
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad8.pt" --augment rotate
expect_exit 2 -- "$MOPT" distill --teacher "$TEACHER" --student "$STUDENT" "${small[@]}" -o "$WORK/bad9.pt" \
  --feature-pair features.7:features.7 --recipe auto
for f in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 bad9; do [ ! -e "$WORK/$f.pt" ] || fail "$f.pt written by a failed run"; done
expect_exit 0 -- "$MOPT" distill --help
expect_stdout "Examples:"
finish
