# mopt bench in ONNX Runtime: .onnx files are measured there by default (the helper process runs the
# timed loop), with the same report, accuracy, reference agreement and gates as LibTorch; without
# Node.js or the binding, exit 4 with the install hint.
source "$(dirname "$0")/lib.sh"
ONNX="$FIXTURES/fashion_cnn.onnx"
TWIN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
py() { "$PY" -c "$1" || fail "$2"; }

if [ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
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
  # ONNX in and out: optimize runs both files in ONNX Runtime (outputs and accuracy; --no-latency: not timed).
  expect_exit 0 -- "$MOPT" optimize "$ONNX" -p 'eliminate-identity,fold-constants,fuse-conv-bn,eliminate-dead-nodes' \
    -o "$WORK/opt.onnx" --data "$FMNIST" --normalize 0.2860,0.3530 --samples 300 --no-latency --report "$WORK/opt.json"
  expect_stdout "onnxruntime -> onnxruntime"
  py "
import json; m=json.load(open('$WORK/opt.json'))['metrics']
assert m['runtime']=={'before': 'onnxruntime', 'after': 'onnxruntime'} and m['agreement']['cosine']>0.99999, m
assert m['before']['accuracy']['top1']==m['after']['accuracy']['top1'], m" "optimize ONNX->ONNX measured in ORT"
  # ONNX out: TorchScript exported op by op, validated, measured against LibTorch in ORT.
  expect_exit 0 -- "$MOPT" optimize "$TWIN" -p freeze -o "$WORK/cnn.onnx" --data "$FMNIST" --normalize 0.2860,0.3530 \
    --samples 300 --no-latency --report "$WORK/export.json"
  expect_stdout "libtorch -> onnxruntime"
  py "
import json, onnx; m=json.load(open('$WORK/export.json'))['metrics']
assert m['runtime']=={'before': 'libtorch', 'after': 'onnxruntime'} and m['agreement']['cosine']>0.99999, m
assert m['before']['accuracy']['top1']==m['after']['accuracy']['top1'], m
p=onnx.load('$WORK/cnn.onnx'); onnx.checker.check_model(p, full_check=True)
assert p.opset_import[0].version==21 and p.graph.input[0].type.tensor_type.shape.dim[0].dim_param=='N'" "export of the CNN"
  for name in resnet18 mobilenet_v2; do
    expect_exit 0 -- "$MOPT" optimize "$FIXTURES/$name.pt" -p freeze -o "$WORK/$name.onnx" --input-shape 1x3x224x224 \
      --opset 13 --no-latency
    node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/$name.onnx" "$FIXTURES/$name.input.npy" "$WORK/$name.ort.npy" \
      || fail "ORT cannot run the exported $name"
    py "
import numpy as np; y=np.load('$WORK/$name.ort.npy'); r=np.load('$FIXTURES/$name.output.npy')
assert np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()" "exported $name matches PyTorch in ORT"
  done
  # ONNX -> import -> export -> ORT reproduces the original outputs, under the original names.
  expect_exit 0 -- "$MOPT" optimize "$ONNX" -o "$WORK/imported.pt" -q
  expect_exit 0 -- "$MOPT" optimize "$WORK/imported.pt" -p freeze -o "$WORK/roundtrip.onnx" --input-shape 1x1x28x28 --no-latency -q
  node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/roundtrip.onnx" "$FIXTURES/fashion_cnn.input.npy" "$WORK/rt.npy" \
    || fail "ORT cannot run the round trip"
  py "
import numpy as np, onnx; y=np.load('$WORK/rt.npy'); r=np.load('$FIXTURES/fashion_cnn.output.npy')
assert np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
a=onnx.load('$ONNX'); b=onnx.load('$WORK/roundtrip.onnx')
assert [i.name for i in a.graph.input]==[i.name for i in b.graph.input] and [o.name for o in a.graph.output]==[o.name for o in b.graph.output]
dims=lambda g: [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in g.input]
assert dims(a.graph)==dims(b.graph), (dims(a.graph), dims(b.graph))" \
    "ONNX -> import -> export round trip (names and declared input dims kept)"
  # The paddle2onnx-style CNN (Reshape [0, -1] becomes x.size(0) arithmetic) round-trips too, dynamic batch included.
  expect_exit 0 -- "$MOPT" optimize "$FIXTURES/onnx_import/paddle_style_cnn.onnx" -o "$WORK/paddle.pt" -q
  expect_exit 0 -- "$MOPT" optimize "$WORK/paddle.pt" -p freeze -o "$WORK/paddle.onnx" --input-shape 1x3x32x32 --no-latency -q
  node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/paddle.onnx" "$FIXTURES/onnx_import/paddle_style_cnn.input.npy" \
    "$WORK/paddle.npy" || fail "ORT cannot run the paddle-style round trip"
  py "
import numpy as np; y=np.load('$WORK/paddle.npy'); r=np.load('$FIXTURES/onnx_import/paddle_style_cnn.output.npy')
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()" "paddle-style round trip"
  # Recurrent layers: the 2-layer LSTM and the bidirectional GRU twins export (one ONNX LSTM/GRU per
  # layer, gates reordered, zero initial states left out) and match PyTorch in ORT; their ONNX
  # imports round-trip (ONNX -> import -> export -> ORT) too, as do the transformer's and
  # ShuffleNetV2's (shape code in unrolled loops, "0 copies the dim" as a select).
  dir="$FIXTURES/onnx_import"
  for name in lstm gru transformer shufflenet_v2; do
    shape=$(/usr/bin/python3 -c "import numpy as np; s=np.load('$dir/$name.input.npy').shape; print('x'.join(['1']+[str(d) for d in s[1:]]))")
    expect_exit 0 -- "$MOPT" optimize "$dir/$name.pt" -p freeze -o "$WORK/$name.onnx" --input-shape "$shape" --no-latency -q
    expect_exit 0 -- "$MOPT" optimize "$dir/$name.onnx" -o "$WORK/$name.imported.pt" --no-latency -q
    expect_exit 0 -- "$MOPT" optimize "$WORK/$name.imported.pt" -p freeze -o "$WORK/$name.rt.onnx" --input-shape "$shape" --no-latency -q
    for file in "$WORK/$name.onnx" "$WORK/$name.rt.onnx"; do
      node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$file" "$dir/$name.input.npy" "$WORK/$name.ort.npy" || fail "ORT cannot run $file"
      py "
import numpy as np, onnx; y=np.load('$WORK/$name.ort.npy'); r=np.load('$dir/$name.output.npy')
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
onnx.checker.check_model(onnx.load('$file'), full_check=True)" "exported $(basename "$file") matches PyTorch in ORT"
    done
  done
  # DenseNet's dense block (a list read between appends) and GoogLeNet's NamedTuple output with None
  # auxiliary logits (left out: ONNX has no None output) export and match PyTorch in ORT.
  for name in dense_block aux_classifier; do
    expect_exit 0 -- "$MOPT" optimize "$FIXTURES/$name.pt" -p freeze -o "$WORK/$name.onnx" --input-shape 1x3x32x32 --no-latency -q
    node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/$name.onnx" "$FIXTURES/$name.input.npy" "$WORK/$name.ort.npy" \
      || fail "ORT cannot run the exported $name"
    py "
import numpy as np, onnx; y=np.load('$WORK/$name.ort.npy'); r=np.load('$FIXTURES/$name.output.npy')
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
p=onnx.load('$WORK/$name.onnx'); onnx.checker.check_model(p, full_check=True)
assert [o.name for o in p.graph.output]==['output'], p.graph.output" "exported $name matches PyTorch in ORT"
  done
  # torchvision's segmentation pattern (a backbone returning a dict read by key, a dict returned:
  # outputs named by its keys), its ViT (nn.MultiheadAttention called directly, the class token
  # expanded to the run-time batch) and a video classifier (Conv3d, adaptive 3-d pooling) export and
  # match PyTorch in ORT.
  for case in "dict_output 1x3x32x32 out,aux" "tiny_vit 1x3x32x32 output" "clip3d 1x3x4x16x16 output"; do
    read -r name shape outputs <<<"$case"
    expect_exit 0 -- "$MOPT" optimize "$FIXTURES/$name.pt" -p freeze -o "$WORK/$name.onnx" --input-shape "$shape" --no-latency -q
    node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/$name.onnx" "$FIXTURES/$name.input.npy" "$WORK/$name.ort.npy" \
      || fail "ORT cannot run the exported $name"
    py "
import numpy as np, onnx; y=np.load('$WORK/$name.ort.npy'); r=np.load('$FIXTURES/$name.output.npy')
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
p=onnx.load('$WORK/$name.onnx'); onnx.checker.check_model(p, full_check=True)
assert [o.name for o in p.graph.output]=='$outputs'.split(','), p.graph.output" "exported $name matches PyTorch in ORT"
  done
  # Its INT8 QDQ form: calibration exposes the tensors before each Resize as outputs, whose rank the
  # importer needs (resize to a run-time size). Per-pixel top-1 agreement is measured.
  expect_exit 0 -- "$MOPT" quantize "$FIXTURES/dict_output.pt" -o "$WORK/dict_output.q.onnx" --calib "$FIXTURES/dict_output.input.npy" \
    --no-latency -q --report "$WORK/dict_output.q.json"
  py "
import json; g=json.load(open('$WORK/dict_output.q.json'))['metrics']['agreement']
assert 0.5 < g['top1_agreement'] <= 1 and g['cosine'] > 0.9, g" "the dict model quantizes to QDQ; per-pixel agreement measured"
  # An op newer than the asked opset is refused by name (exit 4), not written as an invalid file.
  expect_exit 4 -- "$MOPT" optimize "$FIXTURES/transformer.pt" -p freeze -o "$WORK/tr13.onnx" --input-shape 1x16x64 --opset 13
  expect_stderr "LayerNormalization needs opset 17"
  [ ! -e "$WORK/tr13.onnx" ] || fail "an export refused for its opset left a file"
  # nn.TransformerEncoder exports through PyTorch's general path (its fused fast path has no ONNX
  # form), masks left out, batch dynamic; it matches PyTorch in ORT at batch 1 and 3.
  expect_exit 0 -- "$MOPT" optimize "$FIXTURES/transformer.pt" -p freeze -o "$WORK/tr.onnx" --input-shape 1x16x64 --no-latency -q
  /usr/bin/python3 -c "import numpy as np; np.save('$WORK/tr3.npy', np.random.RandomState(0).randn(3,16,64).astype('float32'))"
  for input in "$FIXTURES/transformer.input.npy" "$WORK/tr3.npy"; do
    node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/tr.onnx" "$input" "$WORK/tr.ort.npy" || fail "ORT cannot run the exported transformer"
    py "
import numpy as np, onnx, torch; x=np.load('$input'); y=np.load('$WORK/tr.ort.npy')
with torch.no_grad(): r=torch.jit.load('$FIXTURES/transformer.pt')(torch.from_numpy(x)).numpy()
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
p=onnx.load('$WORK/tr.onnx'); onnx.checker.check_model(p, full_check=True)
assert [i.name for i in p.graph.input]==['input'], p.graph.input" "exported transformer matches PyTorch in ORT ($(basename "$input"))"
  done
  # Ops without a translator are all listed, exit 4, nothing written.
  # (TorchScript compiles from source: the class lives in a file.)
  printf 'import torch, sys\nclass Unexportable(torch.nn.Module):\n    def forward(self, x): return torch.erfinv(x).frac()\ntorch.jit.script(Unexportable()).save(sys.argv[1])\n' \
    >"$WORK/unexportable.py"
  /usr/bin/python3 "$WORK/unexportable.py" "$WORK/unexportable.pt" || fail "a model with ops mopt does not export"
  expect_exit 4 -- "$MOPT" optimize "$WORK/unexportable.pt" -p freeze -o "$WORK/un.onnx" --input-shape 1x16
  expect_stderr "no translator for aten::erfinv, aten::frac"
  [ ! -e "$WORK/un.onnx" ] || fail "a failed export left an output"
  # Layers and ops beyond the fixtures' (transposed convolution, pixel shuffle, nearest/bilinear/
  # bicubic upsampling, reductions, indexing, comparisons, adaptive average pooling to a size other
  # than 1x1, as VGG and AlexNet end), scripted in PyTorch: the export matches PyTorch in ORT.
  cat >"$WORK/many_ops.py" <<'PY'
import sys, torch, torch.nn.functional as F
class ManyOps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.ConvTranspose2d(4, 8, 3, stride=2, padding=1, output_padding=1)
        self.prelu = torch.nn.PReLU(8)
    def forward(self, x):
        y = self.prelu(self.up(x))                                     # 1x8x16x16
        y = F.pixel_shuffle(y, 2)                                      # 1x2x32x32
        a = F.interpolate(y, scale_factor=0.5, mode="nearest")
        b = F.interpolate(y, size=[16, 16], mode="bilinear", align_corners=False)
        c = F.interpolate(y, scale_factor=0.5, mode="bicubic", align_corners=True)
        z = torch.cat([a, b, c], 1).flip(3).cumsum(2)
        mean = z.mean((2, 3))
        picked = z.flatten(1).index_select(1, torch.tensor([0, 5, 77]))
        pooled = F.adaptive_avg_pool2d(z, [4, 2]).flatten(1)          # 4x8 windows of the 16x16 map
        return torch.cat([z.amax(dim=(2, 3)), z.logsumexp(dim=3).mean(2), z.argmax(3).float().mean(2),
                          torch.where(mean > 0, mean.clamp(max=0.5), (mean.abs() + 1).rsqrt()), picked, pooled], 1)
torch.manual_seed(0)
torch.jit.script(ManyOps().eval()).save(sys.argv[1])
PY
  /usr/bin/python3 "$WORK/many_ops.py" "$WORK/many_ops.pt" || fail "scripting the many-ops model"
  /usr/bin/python3 -c "import numpy as np; np.save('$WORK/many.npy', np.random.RandomState(1).randn(2,4,8,8).astype('float32'))"
  expect_exit 0 -- "$MOPT" optimize "$WORK/many_ops.pt" -p freeze -o "$WORK/many.onnx" --input-shape 1x4x8x8 --no-latency -q
  node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/many.onnx" "$WORK/many.npy" "$WORK/many.ort.npy" || fail "ORT cannot run the many-ops export"
  py "
import numpy as np, onnx, torch; x=np.load('$WORK/many.npy'); y=np.load('$WORK/many.ort.npy')
with torch.no_grad(): r=torch.jit.load('$WORK/many_ops.pt')(torch.from_numpy(x)).numpy()
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), (np.abs(y-r).max(), y, r)
onnx.checker.check_model(onnx.load('$WORK/many.onnx'), full_check=True)" "the many-ops export matches PyTorch in ORT at batch 2"
  # Adaptive pooling whose windows would overlap (16 to 5) has no such form: refused by name, exit 4.
  printf 'import torch, sys\nclass Overlapping(torch.nn.Module):\n    def forward(self, x): return torch.nn.functional.adaptive_avg_pool2d(x, [5, 5])\ntorch.jit.script(Overlapping()).save(sys.argv[1])\n' \
    >"$WORK/overlapping.py"
  /usr/bin/python3 "$WORK/overlapping.py" "$WORK/overlapping.pt" || fail "scripting the overlapping-pooling model"
  expect_exit 4 -- "$MOPT" optimize "$WORK/overlapping.pt" -p freeze -o "$WORK/overlapping.onnx" --input-shape 1x2x16x16 --no-latency
  expect_stderr "adaptive pooling of .16, 16. to .5, 5. (overlapping windows"
  # Tensor control flow (`if x.sum() > 0:` picking between computed branches) exports as an ONNX If
  # whose branches are subgraphs; ORT takes each branch like PyTorch does.
  cat >"$WORK/branchy.py" <<'PY'
import sys, torch
class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(8, 4), torch.nn.Linear(8, 4)
    def forward(self, x):
        if x.sum() > 0:
            y = torch.relu(self.a(x)) * 2.0
        else:
            y = self.b(x).abs() - 1.0
        return y + 0.5
torch.manual_seed(0)
torch.jit.script(Branchy().eval()).save(sys.argv[1])
PY
  /usr/bin/python3 "$WORK/branchy.py" "$WORK/branchy.pt" || fail "scripting the branching model"
  expect_exit 0 -- "$MOPT" optimize "$WORK/branchy.pt" -p freeze -o "$WORK/branchy.onnx" --input-shape 1x8 --no-latency -q
  for sign in 1 -1; do
    /usr/bin/python3 -c "import numpy as np; np.save('$WORK/br.npy', ($sign*np.abs(np.random.RandomState(0).randn(3,8))).astype('float32'))"
    node "$SOURCE_DIR/lib/runtime/ort/run_onnx.js" "$WORK/branchy.onnx" "$WORK/br.npy" "$WORK/br.ort.npy" || fail "ORT cannot run the If export"
    py "
import numpy as np, onnx, torch; x=np.load('$WORK/br.npy'); y=np.load('$WORK/br.ort.npy')
with torch.no_grad(): r=torch.jit.load('$WORK/branchy.pt')(torch.from_numpy(x)).numpy()
assert y.shape==r.shape and np.abs(y-r).max() <= 1e-5, np.abs(y-r).max()
p=onnx.load('$WORK/branchy.onnx'); onnx.checker.check_model(p, full_check=True)
assert 'If' in [n.op_type for n in p.graph.node]" "the If export takes PyTorch's branch (sign $sign)"
  done
  # A fixed batch dim is enforced by ONNX Runtime: say so instead of failing inside it.
  expect_exit 2 -- "$MOPT" bench "$ONNX" --batch 4 --iterations 5
  expect_stderr "fixed batch of 1"
  expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.onnx" --iterations 5 --report "$WORK/fixed.json"  # exported at batch 4
  py "
import json; rows=json.load(open('$WORK/fixed.json'))['metrics']['rows']
assert [r['batch'] for r in rows]==[4], rows" "a fixed-batch model is measured at its batch"
  # A model whose shapes follow an input's values fails on random ones: exit 4 names the innermost
  # node and asks for --data, without ORT's log lines; real values run.
  py "
import onnx; from onnx import helper as h, TensorProto as T
g = h.make_graph([h.make_node('Reshape', ['x', 's'], ['y'], name='reshape_by_value')], 'g',
                 [h.make_tensor_value_info('x', T.FLOAT, [1, 6]), h.make_tensor_value_info('s', T.INT64, [2])],
                 [h.make_tensor_value_info('y', T.FLOAT, None)])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 17)], ir_version=8), '$WORK/reshape_by_value.onnx')" "writing the value-shaped model"
  expect_exit 4 -- "$MOPT" bench "$WORK/reshape_by_value.onnx" --iterations 3
  expect_stderr "node 'reshape_by_value' (Reshape)"
  expect_stderr "give --data"
  grep -q "\[[WE]:onnxruntime" "$WORK/err" && fail "ORT's own log lines reach the user: $(head -c 300 "$WORK/err")"
  mkdir -p "$WORK/by_value"
  py "import numpy as np; np.save('$WORK/by_value/input_0.npy', np.ones((1, 6), 'float32')); np.save('$WORK/by_value/input_1.npy', np.array([2, 3]))" \
    "writing the value-shaped model's data"
  expect_exit 0 -- "$MOPT" bench "$WORK/reshape_by_value.onnx" --data "$WORK/by_value" --iterations 3 -q
  # --batch auto in ONNX Runtime: one helper run per size, the helper's peak RSS judged; a fixed batch has
  # nothing to search.
  expect_exit 0 -- "$MOPT" bench "$FIXTURES/onnx_corpus/fashion_cnn.dynamo20.onnx" --batch auto --threads 1 \
    --iterations 10 --warmup 2 --report "$WORK/ort_auto.json"
  validate_report "$WORK/ort_auto.json"
  py "
import json; m=json.load(open('$WORK/ort_auto.json'))['metrics']; s=m['batch_search']
assert m['runtime']['name']=='onnxruntime' and len(s['tried'])>=3 and s['best_batch']>=1, s
assert [r['batch'] for r in m['rows']]==[t['batch'] for t in s['tried']] and 'ONNX Runtime' in s['memory_measure'], s" \
    "--batch auto in ONNX Runtime"
  expect_exit 2 -- "$MOPT" bench "$ONNX" --batch auto --iterations 3
  expect_stderr "fixed batch of 1: --batch auto has no other size"
else
  echo "note: onnxruntime-node not installed (lib/runtime/ort); ONNX Runtime measurements not checked" >&2
fi

# Without Node.js, or without the binding: exit 4 and how to install it; LibTorch still works.
expect_exit 4 -- env MOPT_NODE=/nonexistent/node "$MOPT" bench "$ONNX" --iterations 5
expect_stderr "Node.js"
mkdir -p "$WORK/ort"
cp "$SOURCE_DIR/lib/runtime/ort/ort_bench.js" "$SOURCE_DIR/lib/runtime/ort/npy.js" "$WORK/ort/"
expect_exit 4 -- env MOPT_ORT_DIR="$WORK/ort" "$MOPT" bench "$ONNX" --iterations 5
expect_stderr "npm install"
expect_exit 0 -- env MOPT_ORT_DIR="$WORK/ort" "$MOPT" bench "$ONNX" --runtime libtorch --iterations 5
expect_exit 2 -- "$MOPT" bench "$TWIN" --runtime onnxruntime --input-shape 1x1x28x28 --iterations 5
finish
