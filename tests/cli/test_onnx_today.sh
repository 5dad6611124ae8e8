# ONNX as PyTorch's exporters write it today (fixtures by scripts/fixtures/onnx_corpus.py, made by the
# PyTorch mopt links): the default (dynamo) exporter at opset 20 (the trained Fashion-MNIST CNN,
# MobileNetV3-small, a Hugging Face BERT and MobileViT) and the legacy exporter's BERT at opset 17.
# Each imports, and its outputs agree with ONNX Runtime's on the same file; the commands that go
# through the importer run; input names with ':' round-trip; dynamic quantization needs no data;
# float8 is refused by name; the export writes opset 21 by default.
source "$(dirname "$0")/lib.sh"
C="$FIXTURES/onnx_corpus"
py() { "$PY" -c "$1" || fail "$2"; }
have_ort() { [ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; }

for name in fashion_cnn.dynamo20 mobilenet_v3_small.dynamo20 bert.dynamo20 mobilevit.dynamo20 bert.legacy17; do
  expect_exit 0 -- "$MOPT" inspect "$C/$name.onnx"
  # The import runs in LibTorch; optimize compares it with the .onnx run in ONNX Runtime.
  expect_exit 0 -- "$MOPT" bench "$C/$name.onnx" --runtime libtorch --data "$C/$name.data" --iterations 2
  if have_ort; then
    expect_exit 0 -- "$MOPT" optimize "$C/$name.onnx" -o "$WORK/$name.pt" --data "$C/$name.data" --no-latency \
      --report "$WORK/$name.json"
    py "
import json; a=json.load(open('$WORK/$name.json'))['metrics']['agreement']
assert a['max_abs_diff'] <= 1e-4 or a['cosine'] >= 0.9999, a" "$name: the import agrees with ONNX Runtime"
  fi
done

# If: a data-dependent branch, from both exporters (torch.cond; a scripted `if`). The import agrees with
# ONNX Runtime down either branch (the data shifted by -3 takes the other one), and static INT8 keeps
# what the branches read (the QDQ quantizer used to fold the Relu whose output they read).
for name in gated_mlp.dynamo18 gated_mlp_scripted.legacy17; do
  mkdir -p "$WORK/$name.other"
  "$PY" -c "import numpy as np; np.save('$WORK/$name.other/input_0.npy', np.load('$C/$name.data/input_0.npy') - 3)"
  for data in "$C/$name.data" "$WORK/$name.other"; do
    expect_exit 0 -- "$MOPT" bench "$C/$name.onnx" --runtime libtorch --data "$data" --reference "$C/$name.onnx" \
      --iterations 2 --report "$WORK/$name.json"
    py "
import json; a=json.load(open('$WORK/$name.json'))['metrics']['agreement']
assert a['max_abs_diff'] <= 1e-5, a" "$name: the import agrees with ONNX Runtime on $data"
  done
  if have_ort; then
    expect_exit 0 -- "$MOPT" quantize "$C/$name.onnx" -o "$WORK/$name.qdq.onnx" --calib "$C/$name.data" --no-latency \
      --report "$WORK/$name.qdq.json"
    py "
import json; a=json.load(open('$WORK/$name.qdq.json'))['metrics']['agreement']
assert a['sqnr_db'] > 30, a" "$name: static INT8 agrees with fp32"
  fi
done

# Loop: a scripted recurrence over time from the legacy exporter. The import (a TorchScript while loop whose
# body reads the enclosing graph's weights) agrees with ONNX Runtime on the same file; both quantizers run.
L="$C/looped_rnn.legacy17"
if have_ort; then
  expect_exit 0 -- "$MOPT" optimize "$L.onnx" -o "$WORK/loop.pt" --data "$L.data" --no-latency --report "$WORK/loop.json"
  py "
import json; a=json.load(open('$WORK/loop.json'))['metrics']['agreement']
assert a['max_abs_diff'] <= 1e-5, a" "looped_rnn: the import agrees with ONNX Runtime"
  py "
import torch; assert 'prim::Loop' in str(torch.jit.load('$WORK/loop.pt').graph)" "looped_rnn: imported as a loop"
  expect_exit 0 -- "$MOPT" quantize "$L.onnx" -o "$WORK/loop.dyn.onnx" --mode dynamic --no-latency
  expect_exit 0 -- "$MOPT" quantize "$L.onnx" -o "$WORK/loop.qdq.onnx" --calib "$L.data" --no-latency --report "$WORK/loop.qdq.json"
  py "
import json; a=json.load(open('$WORK/loop.qdq.json'))['metrics']['agreement']
assert a['sqnr_db'] > 30, a" "looped_rnn: static INT8 agrees with fp32"
fi

# Every command that goes through the importer, on opset-20 files.
F="$C/fashion_cnn.dynamo20"
expect_exit 0 -- "$MOPT" quantize "$F.onnx" -o "$WORK/f.int8.pt" --calib "$F.data" --no-latency
expect_exit 0 -- "$MOPT" prune "$C/mobilenet_v3_small.dynamo20.onnx" -o "$WORK/m.pruned.pt" --method magnitude \
  --eval-data "$C/mobilenet_v3_small.dynamo20.data" --no-latency
expect_exit 0 -- "$MOPT" compile "$C/mobilenet_v3_small.dynamo20.onnx" --profile x86-64-avx2 -o "$WORK/m.compiled.pt" \
  --data "$C/mobilenet_v3_small.dynamo20.data" --no-latency
if have_ort; then
  expect_exit 0 -- "$MOPT" quantize "$F.onnx" -o "$WORK/f.qdq.onnx" --calib "$F.data" --no-latency
  # Dynamic INT8 without any data: measured against fp32 on synthetic inputs of the declared shapes.
  expect_exit 0 -- "$MOPT" quantize "$C/bert.dynamo20.onnx" -o "$WORK/bert.dyn.onnx" --mode dynamic --no-latency \
    --report "$WORK/dyn.json"
  expect_stderr "accuracy is not measured"
  py "
import json; r=json.load(open('$WORK/dyn.json')); a=r['metrics']['agreement']
assert a['cosine'] > 0.99, a" "dynamic INT8 BERT without data agrees with fp32"
  # No data and no declared shapes to draw from: a usage error that says what to give.
  expect_exit 0 -- "$MOPT" optimize "$F.onnx" -o "$WORK/f.pt"
  expect_exit 2 -- "$MOPT" quantize "$WORK/f.pt" -o "$WORK/f.dyn.pt" --mode dynamic
  expect_stderr "--input-shape"
fi

# Input names as PyTorch's exporter writes them ("onnx::Flatten_0"), and ones with ';' and '\': the spec
# mopt builds from the graph works, the names typed back work, and the spec mopt prints pastes back.
"$PY" - "$WORK" <<'PY' || fail "could not write the named-input models"
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]
def model(name, dims, path):
    x = helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((96, 4), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", [name, "w"], ["y"])], "g", [x], [y], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
model("onnx::Flatten_0", [1, 25, 96], f"{out}/colon.onnx")
model("a;b\\c", [1, "frames", 96], f"{out}/semicolon.onnx")
# float8 weights (opset 19+): refused by the type's name
f8 = helper.make_tensor("w8", TensorProto.FLOAT8E4M3FN, [2], [1.0, 2.0])
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
nodes = [helper.make_node("Cast", ["w8"], ["w"], to=TensorProto.FLOAT), helper.make_node("Add", ["x", "w"], ["y"])]
onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], [f8]), opset_imports=[helper.make_opsetid("", 19)]),
          f"{out}/float8.onnx")
# A model-local function, as onnxscript and the dynamo exporter write them: (x + x) * x
body = [helper.make_node("Add", ["a", "b"], ["t"]), helper.make_node("Mul", ["t", "b"], ["c"])]
function = helper.make_function("local", "AddMul", ["a", "b"], ["c"], body, [helper.make_opsetid("", 20)])
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
graph = helper.make_graph([helper.make_node("AddMul", ["x", "x"], ["y"], domain="local")], "g", [x], [y])
onnx.save(helper.make_model(graph, functions=[function],
                            opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("local", 1)]),
          f"{out}/function.onnx")
np.save(f"{out}/function.npy", np.arange(6, dtype=np.float32).reshape(2, 3) - 2)
# A function that calls itself: refused, not inlined forever
loop = helper.make_function("local", "AddMul", ["a", "b"], ["c"], [helper.make_node("AddMul", ["a", "b"], ["c"], domain="local")],
                            [helper.make_opsetid("", 20), helper.make_opsetid("local", 1)])
onnx.save(helper.make_model(graph, functions=[loop],
                            opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("local", 1)]),
          f"{out}/recursive.onnx")
# Weights of ~1e-39: below the smallest INT8 scale (float32's smallest normal, as ONNX Runtime's quantizer): zero
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])
w = numpy_helper.from_array((np.random.RandomState(0).randn(16, 8) * 1e-39).astype(np.float32), "w")
tiny = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w]),
                         opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
onnx.save(tiny, f"{out}/tiny.onnx")
np.save(f"{out}/tiny.npy", np.random.RandomState(1).randn(64, 16).astype(np.float32))
PY
expect_exit 0 -- "$MOPT" bench "$WORK/colon.onnx" --runtime libtorch --iterations 2
expect_exit 0 -- "$MOPT" bench "$WORK/colon.onnx" --runtime libtorch --iterations 2 --input-shape 'onnx::Flatten_0:1x25x96:float32'
expect_exit 0 -- "$MOPT" bench "$WORK/colon.onnx" --runtime libtorch --iterations 2 --input-shape 'onnx::Flatten_0:1x25x96'
expect_exit 2 -- "$MOPT" bench "$WORK/semicolon.onnx" --runtime libtorch --iterations 2
printed=$(grep -o "e.g. '[^']*'" "$WORK/err" | sed "s/^e.g. '//; s/'$//")
[ "$printed" = 'a\;b\\c:1x?x96:float32' ] || fail "printed spec '$printed'"
expect_exit 0 -- "$MOPT" bench "$WORK/semicolon.onnx" --runtime libtorch --iterations 2 --input-shape "${printed/\?/25}"

# Local functions are inlined: the import computes (x + x) * x.
expect_exit 0 -- "$MOPT" optimize "$WORK/function.onnx" -o "$WORK/function.pt"
py "
import torch, numpy as np
x = torch.from_numpy(np.load('$WORK/function.npy'))
assert torch.equal(torch.jit.load('$WORK/function.pt')(x), (x + x) * x)" "the inlined function computes (x + x) * x"

expect_exit 4 -- "$MOPT" optimize "$WORK/recursive.onnx" -o "$WORK/recursive.pt"
expect_stderr "must not be recursive"

expect_exit 4 -- "$MOPT" optimize "$WORK/float8.onnx" -o "$WORK/float8.pt"
expect_stderr "FLOAT8E4M3FN"

# The export writes the newest opset by default (21), and ONNX Runtime runs it.
if have_ort; then
  # A quantized model whose outputs do not follow fp32's is written (no target given), with a warning.
  expect_exit 0 -- "$MOPT" quantize "$WORK/tiny.onnx" -o "$WORK/tiny.int8.onnx" --calib "$WORK/tiny.npy" --no-latency
  expect_stdout "WARNING: the quantized outputs barely follow fp32's"
  expect_exit 0 -- "$MOPT" optimize "$C/bert.dynamo20.onnx" -o "$WORK/bert.pt"
  expect_exit 0 -- "$MOPT" optimize "$WORK/bert.pt" -o "$WORK/bert21.onnx" --data "$C/bert.dynamo20.data" --no-latency \
    --report "$WORK/bert21.json"
  py "
import json, onnx; m=onnx.load('$WORK/bert21.onnx'); a=json.load(open('$WORK/bert21.json'))['metrics']['agreement']
assert [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] == [21], m.opset_import
onnx.checker.check_model(m, full_check=True)
assert a['cosine'] >= 0.9999, a" "the opset-21 export passes ONNX's checker and agrees in ONNX Runtime"
fi
finish
