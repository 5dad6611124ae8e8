# Multi-input models (a token classifier taking input_ids and attention_mask) through every command
# that feeds several inputs: synthetic specs, a multi-input dataset folder (input_0.npy, input_1.npy,
# labels.npy), accuracy, --reference, ONNX INT8 (static and dynamic), ONNX export, optimize's
# fresh-process timing, compile, prune, distillation and LibTorch static INT8.
source "$(dirname "$0")/lib.sh"
T="$FIXTURES/onnx_import/two_input"
DATA="$FIXTURES/onnx_import/two_input_data"   # labels = the fp32 model's own argmax
SPEC='input_ids:1x12:int64;attention_mask:1x12:int64'
py() { "$PY" -c "$1" || fail "$2"; }

# Synthetic inputs, one per input: ONNX Runtime, LibTorch through the importer, the TorchScript twin.
for target in "$T.onnx" "$T.onnx --runtime libtorch" "$T.pt"; do
  # shellcheck disable=SC2086
  expect_exit 0 -- "$MOPT" bench $target --input-shape "$SPEC" --iterations 10 --report "$WORK/two.json"
  validate_report "$WORK/two.json"
done
expect_exit 2 -- "$MOPT" bench "$T.onnx" --iterations 5
expect_stderr "inputs 'input_ids' (T), 'attention_mask' (T) have dynamic dims"

# A dataset folder: accuracy (100%: the labels are the model's argmax) and agreement with the twin,
# in both runtimes.
for runtime in onnxruntime libtorch; do
  expect_exit 0 -- "$MOPT" bench "$T.onnx" --runtime $runtime --data "$DATA" --reference "$T.pt" --iterations 5 \
    --report "$WORK/acc-$runtime.json"
  validate_report "$WORK/acc-$runtime.json"
  py "
import json; m=json.load(open('$WORK/acc-$runtime.json'))['metrics']
assert m['accuracy']['top1']==1.0 and m['accuracy']['samples']==64, m['accuracy']
assert m['agreement']['max_abs_diff']<1e-4 and m['agreement']['samples']==64, m['agreement']" "$runtime accuracy/agreement"
done
expect_exit 0 -- "$MOPT" bench "$T.onnx" --data "$DATA" --samples 10 --iterations 3 --report "$WORK/ten.json"
py "import json; assert json.load(open('$WORK/ten.json'))['metrics']['accuracy']['samples']==10" "--samples cuts every input"

# ONNX INT8 for ONNX Runtime: dynamic measured on the folder, static calibrated on it.
expect_exit 0 -- "$MOPT" quantize "$T.onnx" -o "$WORK/two.dyn.onnx" --mode dynamic --eval-data "$DATA" --no-latency \
  --report "$WORK/dyn.json"
validate_report "$WORK/dyn.json"
expect_exit 0 -- "$MOPT" quantize "$T.onnx" -o "$WORK/two.int8.onnx" --calib "$DATA" --eval-data "$DATA" --no-latency \
  --report "$WORK/static.json"
validate_report "$WORK/static.json"
py "
import json
for name in ('dyn', 'static'):
    m=json.load(open('$WORK/%s.json' % name))['metrics']
    assert m['samples']==64 and m['after']['accuracy']['top1']>=0.9 and m['agreement']['cosine']>0.99, (name, m)
    assert m['before']['accuracy']['top1']==1.0, (name, m['before'])
" "INT8 of the two-input model"
expect_exit 0 -- "$MOPT" bench "$WORK/two.int8.onnx" --data "$DATA" --iterations 3 --report "$WORK/int8.json"
# One input's data alone is the model's mismatch, named by ONNX Runtime/the importer (exit 4).
expect_exit 4 -- "$MOPT" quantize "$T.onnx" -o "$WORK/bad.onnx" --calib "$T.input_ids.npy" --eval-data "$T.input_ids.npy"
expect_stderr "missing value for argument 'attention_mask'"
[ ! -e "$WORK/bad.onnx" ] || fail "a failed quantize wrote its output"

# optimize: ONNX -> TorchScript measured in fresh processes on both inputs.
expect_exit 0 -- "$MOPT" optimize "$T.onnx" -o "$WORK/two.pt" --data "$DATA" --iterations 10 --report "$WORK/opt.json"
validate_report "$WORK/opt.json"
py "
import json; m=json.load(open('$WORK/opt.json'))['metrics']
assert m['agreement']['max_abs_diff']<1e-4 and m['before']['latency']['p50_ms']>0 and m['after']['latency']['p50_ms']>0, m
assert m['before']['accuracy']['top1']==1.0 and m['after']['accuracy']['top1']==1.0, m" "optimize comparison"
# TorchScript -> ONNX export of the twin (int64 inputs, both named as in the ONNX original), timed
# in ONNX Runtime against the .pt and compared on the folder; then .pt -> ONNX INT8 (QDQ).
expect_exit 0 -- "$MOPT" optimize "$T.pt" -p freeze -o "$WORK/two.onnx" --data "$DATA" --iterations 10 --report "$WORK/exp.json"
validate_report "$WORK/exp.json"
py "
import json; m=json.load(open('$WORK/exp.json'))['metrics']
assert m['agreement']['max_abs_diff']<1e-4 and m['after']['accuracy']['top1']==1.0, m" "two-input export agrees in ORT"
expect_exit 0 -- "$MOPT" inspect "$WORK/two.onnx"
expect_stdout "input_ids"
expect_exit 0 -- "$MOPT" quantize "$T.pt" -o "$WORK/two.pt.int8.onnx" --calib "$DATA" --eval-data "$DATA" --no-latency \
  --report "$WORK/pt-static.json"
py "
import json; m=json.load(open('$WORK/pt-static.json'))['metrics']
assert m['after']['accuracy']['top1']>=0.9 and m['agreement']['cosine']>0.99, m" ".pt -> ONNX INT8 of the two-input model"
# TorchScript dynamic INT8 of the twin, measured on the folder.
expect_exit 0 -- "$MOPT" quantize "$T.pt" -o "$WORK/two.dyn.pt" --mode dynamic --eval-data "$DATA" --no-latency

# Distillation of a multi-input student from the ONNX teacher: both inputs feed both models in
# training, validation and the ONNX check; the student learns (28% before, the labels are the
# teacher's argmax) and the written file reproduces its accuracy in a fresh bench.
STUDENT="$FIXTURES/onnx_import/two_input_student.pt"
expect_exit 0 -- "$MOPT" distill --teacher "$T.onnx" --student "$STUDENT" --train "$DATA" --val "$DATA" --recipe fixed \
  --epochs 20 --batch-size 16 -o "$WORK/student.onnx" --no-latency --report "$WORK/distill.json"
validate_report "$WORK/distill.json"
expect_exit 0 -- "$MOPT" bench "$WORK/student.onnx" --data "$DATA" --iterations 3 --report "$WORK/student-bench.json"
py "
import json; m=json.load(open('$WORK/distill.json'))['metrics']; b=json.load(open('$WORK/student-bench.json'))['metrics']
s=m['student']; assert m['teacher']['accuracy']==1.0 and s['accuracy_after']>=s['accuracy_before']+0.1, m
assert m['onnx_export']['agreement']['cosine']>0.9999, m['onnx_export']['agreement']
assert b['accuracy']['top1']==m['onnx_export']['after']['accuracy']['top1'], (b['accuracy'], m['onnx_export']['after'])" \
  "multi-input distillation"
expect_exit 2 -- "$MOPT" distill --teacher "$T.onnx" --student "$STUDENT" --train "$DATA" --epochs 1 --augment shift \
  --recipe fixed -o "$WORK/augmented.pt"
expect_stderr "multi-input model's data is trained on as it is"

# compile: the profile's pipeline on the TorchScript twin, measured and compared on both inputs, for
# LibTorch (.pt, passes kept only if faster) and the lite interpreter (.ptl).
expect_exit 0 -- "$MOPT" compile "$T.pt" --profile x86-64-avx2 --keep-if-faster -o "$WORK/two.compiled.pt" --data "$DATA" \
  --iterations 5 --report "$WORK/compile.json"
validate_report "$WORK/compile.json"
expect_exit 0 -- "$MOPT" compile "$T.pt" --profile android-arm64 -o "$WORK/two.ptl" --data "$DATA" --no-latency \
  --report "$WORK/compile-lite.json"
py "
import json
for name in ('compile', 'compile-lite'):
    r=json.load(open('$WORK/%s.json' % name)); m=r['metrics']
    assert m['agreement']['max_abs_diff']<1e-4 and m['after']['accuracy']['top1']==1.0, (name, m)
assert json.load(open('$WORK/compile-lite.json'))['details']['compile']['lite_agreement']['cosine']>0.9999" "multi-input compile"

# prune of the ONNX model: magnitude pruning measured on both inputs, fine-tuned on both; the MAC
# count covers a multi-input forward too.
expect_exit 0 -- "$MOPT" prune "$T.onnx" --amount 0.5 -o "$WORK/two.pruned.pt" --eval-data "$DATA" --finetune-data "$DATA" \
  --epochs 2 --no-latency --report "$WORK/prune.json"
validate_report "$WORK/prune.json"
py "
import json; r=json.load(open('$WORK/prune.json')); m=r['metrics']
assert m['before']['accuracy']['top1']==1.0 and m['after']['accuracy']['top1']>=0.5, m
assert m['totals']['before']['macs']==128, m['totals']" "multi-input prune"

# TorchScript static INT8 calibrates on both inputs.
expect_exit 0 -- "$MOPT" quantize "$T.pt" -o "$WORK/two.static.pt" --calib "$DATA" --eval-data "$DATA" --no-latency \
  --report "$WORK/lt-static.json"
expect_stdout "INT8 chain"
py "
import json; m=json.load(open('$WORK/lt-static.json'))['metrics']
assert m['after']['accuracy']['top1']>=0.9 and m['agreement']['cosine']>0.99, m" "LibTorch static INT8 of the two-input model"
[ ! -e "$WORK/augmented.pt" ] || fail "augmented.pt written after a refusal"

# Folder layout errors are the data's (exit 4), named.
mkdir -p "$WORK/gap" && cp "$DATA/input_0.npy" "$WORK/gap/" && cp "$DATA/input_1.npy" "$WORK/gap/input_2.npy"
expect_exit 4 -- "$MOPT" bench "$T.onnx" --data "$WORK/gap" --iterations 3
expect_stderr "has input_2 but no input_1"
mkdir -p "$WORK/short" && cp "$DATA/input_0.npy" "$WORK/short/" && /usr/bin/python3 -c "
import numpy as np; np.save('$WORK/short/input_1.npy', np.load('$DATA/input_1.npy')[:5])"
expect_exit 4 -- "$MOPT" bench "$T.onnx" --data "$WORK/short" --iterations 3
expect_stderr "aligned row by row"
# Inputs without the batch first (an LSTM's h0/c0 [layers, N, H]) and a scalar (temperature): the graph's
# own spec (N named on h0's dim 1 is the batch there too; a scalar prints as NAME::DTYPE) runs in both
# runtimes and pastes back; a folder of one sample and its state agrees with the PyTorch twin; dynamic
# INT8 without data (fresh-process timing writes the state whole), QDQ calibrated on the folder, and
# prune on the graph's inputs all run. These inputs were sliced as rows before: exit 1 or 4.
S="$FIXTURES/stateful_lstm"
SPEC_S='x:1x16x8:float32;h0:2x1x32:float32;c0:2x1x32:float32;temperature::float32'
for runtime in onnxruntime libtorch; do
  expect_exit 0 -- "$MOPT" bench "$S.onnx" --runtime $runtime --iterations 5
  expect_stderr "input from the ONNX graph: $SPEC_S"
  expect_exit 0 -- "$MOPT" bench "$S.onnx" --runtime $runtime --input-shape "$SPEC_S" --iterations 5
  expect_exit 0 -- "$MOPT" bench "$S.onnx" --runtime $runtime --data "$FIXTURES/stateful_data" --reference "$S.pt" \
    --iterations 5 --report "$WORK/state-$runtime.json"
  py "
import json; a=json.load(open('$WORK/state-$runtime.json'))['metrics']['agreement']
assert a['samples']==1 and a['max_abs_diff']<1e-5, a" "$runtime on the stateful model vs PyTorch"
done
expect_exit 0 -- "$MOPT" quantize "$S.onnx" -o "$WORK/state-dynamic.onnx" --mode dynamic --allow-slower \
  --report "$WORK/state-dynamic.json"
py "
import json; m=json.load(open('$WORK/state-dynamic.json'))['metrics']
assert m['agreement']['sqnr_db']>30 and m['after']['latency']['p50_ms']>0, m" "dynamic INT8 of the stateful model"
expect_exit 0 -- "$MOPT" quantize "$S.onnx" -o "$WORK/state-qdq.onnx" --calib "$FIXTURES/stateful_data" --no-latency
expect_exit 0 -- "$MOPT" prune "$S.onnx" -o "$WORK/state-pruned.onnx" --amount 0.3 --no-latency
finish
