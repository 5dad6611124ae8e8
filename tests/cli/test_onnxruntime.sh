# mopt bench in ONNX Runtime: .onnx files are measured there by default (the helper process runs the
# timed loop), with the same report, accuracy, reference agreement and gates as LibTorch; without
# Node.js or the binding, exit 4 with the install hint.
source "$(dirname "$0")/lib.sh"
ONNX="$FIXTURES/fashion_cnn.onnx"
TWIN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
py() { /usr/bin/python3 -c "$1" || fail "$2"; }

if [ -d "$SOURCE_DIR/scripts/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
  expect_exit 0 -- "$MOPT" bench "$ONNX" --data "$FMNIST" --normalize 0.2860,0.3530 --samples 1000 --threads 1 \
    --iterations 50 --reference "$TWIN" --report "$WORK/ort.json"
  validate_report "$WORK/ort.json"
  expect_stdout "runtime: onnxruntime"
  py "
import json; r=json.load(open('$WORK/ort.json')); m=r['metrics']
assert m['runtime']['name']=='onnxruntime' and m['runtime']['version'], m['runtime']
row=m['rows'][0]; assert row['latency']['count']==50 and row['stopped_by']=='iterations', row
assert row['memory']['peak_mb'] > 0 and m['cold_start']['load_ms'] > 0, (row['memory'], m['cold_start'])
assert m['agreement']['cosine'] > 0.99999 and m['agreement']['top1_agreement'] == 1.0, m['agreement']
assert m['accuracy']['top1'] > 0.85, m['accuracy']" "ONNX Runtime bench report"
  # Same file in LibTorch through the importer: same accuracy.
  expect_exit 0 -- "$MOPT" bench "$ONNX" --runtime libtorch --data "$FMNIST" --normalize 0.2860,0.3530 --samples 1000 \
    --threads 1 --iterations 20 --report "$WORK/lt.json"
  py "
import json; a=json.load(open('$WORK/ort.json'))['metrics']; b=json.load(open('$WORK/lt.json'))['metrics']
assert b['runtime']['name']=='libtorch' and a['accuracy']['top1']==b['accuracy']['top1'], (a['accuracy'], b['accuracy'])" \
    "LibTorch and ONNX Runtime agree on accuracy"
  # Gates and stop rules work the same; a time-based rule is honoured by the helper.
  expect_exit 3 -- "$MOPT" bench "$ONNX" --iterations 20 --fail-if 'latency.p50_ms > 0.000001'
  expect_exit 0 -- "$MOPT" bench "$FIXTURES/onnx_import/transformer.onnx" --input-shape 1x16x64 --batch 1,4 --threads 1,2 \
    --min-time 0.2 --report "$WORK/sweep.json"
  py "
import json; rows=json.load(open('$WORK/sweep.json'))['metrics']['rows']
assert [(r['batch'], r['threads']) for r in rows]==[(1,1),(4,1),(1,2),(4,2)], rows
assert all(r['stopped_by']=='min-time' and r['elapsed_s']>=0.2 for r in rows), rows" "sweep and min-time rule in ONNX Runtime"
  # ONNX in and out: optimize measures both files in ONNX Runtime.
  expect_exit 0 -- "$MOPT" optimize "$ONNX" -p 'eliminate-identity,fold-constants,fuse-conv-bn,eliminate-dead-nodes' \
    -o "$WORK/opt.onnx" --data "$FMNIST" --normalize 0.2860,0.3530 --samples 300 --iterations 20 --report "$WORK/opt.json"
  expect_stdout "measured in ONNX Runtime"
  py "
import json; m=json.load(open('$WORK/opt.json'))['metrics']
assert m['runtime']=='onnxruntime' and m['agreement']['cosine']>0.99999, m
assert m['before']['accuracy']['top1']==m['after']['accuracy']['top1'], m" "optimize ONNX->ONNX measured in ORT"
  # A fixed batch dim is enforced by ONNX Runtime: say so instead of failing inside it.
  expect_exit 2 -- "$MOPT" bench "$ONNX" --batch 4 --iterations 5
  expect_stderr "fixed batch of 1"
else
  echo "note: onnxruntime-node not installed (scripts/ort); ONNX Runtime measurements not checked" >&2
fi

# Without Node.js, or without the binding: exit 4 and how to install it; LibTorch still works.
expect_exit 4 -- env MOPT_NODE=/nonexistent/node "$MOPT" bench "$ONNX" --iterations 5
expect_stderr "Node.js"
mkdir -p "$WORK/ort"
cp "$SOURCE_DIR/scripts/ort/ort_bench.js" "$SOURCE_DIR/scripts/ort/npy.js" "$WORK/ort/"
expect_exit 4 -- env MOPT_ORT_DIR="$WORK/ort" "$MOPT" bench "$ONNX" --iterations 5
expect_stderr "npm install"
expect_exit 0 -- env MOPT_ORT_DIR="$WORK/ort" "$MOPT" bench "$ONNX" --runtime libtorch --iterations 5
expect_exit 2 -- "$MOPT" bench "$TWIN" --runtime onnxruntime --input-shape 1x1x28x28 --iterations 5
finish
