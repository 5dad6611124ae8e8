# A model saved by PyTorch 2.x, as users save transformers today: a 2-layer Hugging Face BERT traced by
# the PyTorch mopt links, whose attention calls aten::scaled_dot_product_attention (LibTorch 1.13
# refused the file). It goes through inspect, bench, quantize --mode dynamic and bf16-compute, compile
# and optimize -o x.onnx, and every output is compared with PyTorch's.
source "$(dirname "$0")/lib.sh"
BERT="$FIXTURES/bert.pt"
DATA="$FIXTURES/bert_data"   # labels = PyTorch's own argmax
SPEC='input_ids:1x16:int64;attention_mask:1x16:int64'
py() { "$PY" -c "$1" || fail "$2"; }

expect_exit 0 -- "$MOPT" inspect "$BERT" --report "$WORK/inspect.json"
validate_report "$WORK/inspect.json"
expect_stdout "scaled_dot_product_attention"

# bench: synthetic token ids, then the data folder with PyTorch's labels (100% by construction).
expect_exit 0 -- "$MOPT" bench "$BERT" --input-shape "$SPEC" --iterations 5 --report "$WORK/bench.json"
validate_report "$WORK/bench.json"
expect_exit 0 -- "$MOPT" bench "$BERT" --data "$DATA" --iterations 3 --report "$WORK/acc.json"
py "
import json; m=json.load(open('$WORK/acc.json'))['metrics']
assert m['accuracy']['top1']==1.0 and m['accuracy']['samples']==64, m['accuracy']" "BERT matches PyTorch's argmax"

# Dynamic INT8 Linear layers.
expect_exit 0 -- "$MOPT" quantize "$BERT" -o "$WORK/bert.int8.pt" --mode dynamic --eval-data "$DATA" --no-latency \
  --report "$WORK/dyn.json"
validate_report "$WORK/dyn.json"
py "
import json; m=json.load(open('$WORK/dyn.json'))['metrics']
assert m['agreement']['cosine']>0.99 and m['after']['accuracy']['top1']>=0.9, m" "dynamic INT8 BERT agrees with fp32"

# bf16 compute casts the float inputs only: int64 token ids reach the embedding as integers.
expect_exit 0 -- "$MOPT" quantize "$BERT" -o "$WORK/bert.bf16.pt" --mode bf16-compute --eval-data "$DATA" --no-latency \
  --report "$WORK/bf16.json"
if [ -s "$WORK/bf16.json" ]; then
  py "
import json; m=json.load(open('$WORK/bf16.json'))['metrics']
assert m['agreement']['cosine']>0.99, m['agreement']" "bf16-compute BERT agrees with fp32"
fi
grep -q "CPUBFloat16Type" "$WORK/err" && fail "bf16-compute cast the int64 token ids"

# compile for the host, then optimize's export to ONNX, checked against PyTorch's outputs in ONNX Runtime.
expect_exit 0 -- "$MOPT" compile "$BERT" --profile x86-64-avx512-vnni -o "$WORK/bert.compiled.pt" --data "$DATA" \
  --no-latency --report "$WORK/compile.json"
validate_report "$WORK/compile.json"
py "
import json; m=json.load(open('$WORK/compile.json'))['metrics']
assert m['agreement']['cosine']>0.9999, m['agreement']" "compiled BERT agrees with the input"
expect_exit 0 -- "$MOPT" bench "$WORK/bert.compiled.pt" --data "$DATA" --reference "$BERT" --iterations 3 --report "$WORK/c.json"
py "
import json; m=json.load(open('$WORK/c.json'))['metrics']
assert m['accuracy']['top1']==1.0 and m['agreement']['max_abs_diff']<1e-4, m" "compiled BERT matches PyTorch"

# Export to ONNX (scaled_dot_product_attention, the mask's advanced indexing), checked in ONNX Runtime.
if [ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
  expect_exit 0 -- "$MOPT" optimize "$BERT" -o "$WORK/bert.onnx" --data "$DATA" --no-latency --report "$WORK/onnx.json"
  validate_report "$WORK/onnx.json"
  expect_exit 0 -- "$MOPT" bench "$WORK/bert.onnx" --data "$DATA" --iterations 3 --report "$WORK/o.json"
  py "
import json; m=json.load(open('$WORK/o.json'))['metrics']
assert m['accuracy']['top1']==1.0, m['accuracy']" "the exported BERT in ONNX Runtime matches PyTorch"
  # A float mask with an explicit scale, and indices that broadcast and count from the end.
  OPS="$FIXTURES/attention_ops"
  expect_exit 0 -- "$MOPT" optimize "$OPS.pt" -o "$WORK/ops.onnx" --data "$OPS.input.npy" --no-latency --report "$WORK/ops.json"
  py "
import json; a=json.load(open('$WORK/ops.json'))['metrics']['agreement']
assert a['max_abs_diff']<1e-5 and a['cosine']>0.99999, a" "attention and indexing export agrees with LibTorch"
fi
# An AOTInductor package (.pt2) compiled by the same PyTorch: inspect and bench run it like any artifact
# and its outputs match the TorchScript trace of the same model (which matches PyTorch's eager
# outputs); a shape outside the exported range, and the commands that change a model, exit 4.
PT2="$FIXTURES/aoti_cnn.pt2"
expect_exit 0 -- "$MOPT" inspect "$PT2" --report "$WORK/pt2.json"
validate_report "$WORK/pt2.json"
expect_stdout "AOTInductor package"
py "
import json; r=json.load(open('$WORK/pt2.json')); m=r['details']['model']
assert r['inputs'][0]['format']=='aoti-package' and m['format']=='aoti-package', r['inputs']
assert m['parameters']>=5000 and len(m['inputs'])==1 and m['package']['AOTI_DEVICE_KEY']=='cpu', m
assert 'features.0.weight' in [l['name'] for l in m['layers']], m['layers']" "inspect reads the package"
expect_exit 0 -- "$MOPT" bench "$PT2" --data "$FIXTURES/aoti_cnn.input.npy" --reference "$FIXTURES/aoti_cnn.pt" --batch 2,4 \
  --iterations 5 --report "$WORK/pt2bench.json"
validate_report "$WORK/pt2bench.json"
py "
import json, numpy as np, torch
m=json.load(open('$WORK/pt2bench.json'))['metrics']
assert m['runtime']['name']=='libtorch-aotinductor' and [r['batch'] for r in m['rows']]==[2,4], m['runtime']
assert m['agreement']['max_abs_diff']<1e-4 and m['agreement']['samples']==4, m['agreement']
traced=torch.jit.load('$FIXTURES/aoti_cnn.pt')
out=traced(torch.from_numpy(np.load('$FIXTURES/aoti_cnn.input.npy'))).detach().numpy()
assert np.abs(out-np.load('$FIXTURES/aoti_cnn.output.npy')).max()<1e-4" "the package's outputs match PyTorch's"
expect_exit 4 -- "$MOPT" bench "$PT2" --input-shape x:1x3x32x32 --iterations 2
expect_stderr "cannot run on inputs of shape 1x3x32x32"
expect_exit 4 -- "$MOPT" quantize "$PT2" -o "$WORK/pt2.int8.pt" --mode dynamic
expect_stderr "is an AOTInductor package (.pt2)"
[ ! -e "$WORK/pt2.int8.pt" ] || fail "quantize of a package wrote a file"
finish
