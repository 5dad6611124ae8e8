# ONNX in: every subcommand takes .onnx through the importer. Conversion (optimize), bench, quantize,
# prune and distill on the Fashion-MNIST CNN exported to ONNX give the TorchScript twin's accuracy;
# imported torchvision/transformer/LSTM/paddle-style models match PyTorch's outputs; bad input exits 4.
source "$(dirname "$0")/lib.sh"
TWIN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
ONNX="$FIXTURES/fashion_cnn.onnx"
FMNIST=/usr/share/datasets/fashion-mnist
NORM=0.2860,0.3530
py() { "$PY" -c "$1" || fail "$2"; }
top1() { /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r$2)" "$1"; }

# Conversion: the TorchScript file runs in PyTorch with the ONNX inputs and returns PyTorch's outputs.
expect_exit 0 -- "$MOPT" optimize "$ONNX" -o "$WORK/cnn.pt" --report "$WORK/convert.json"
validate_report "$WORK/convert.json"
py "
import torch, numpy as np
m=torch.jit.load('$WORK/cnn.pt'); x=torch.from_numpy(np.load('$FIXTURES/fashion_cnn.input.npy'))
y=m(x).detach().numpy(); r=np.load('$FIXTURES/fashion_cnn.output.npy')
assert np.abs(y-r).max() <= 1e-4*max(1.0, np.abs(r).max()), np.abs(y-r).max()
assert sum(p.numel() for p in m.parameters()) == 421834" "converted CNN matches PyTorch"

# With data, the conversion is checked against the .onnx as ONNX Runtime runs it (not against
# mopt's own import of it, which could only agree with itself).
expect_exit 0 -- "$MOPT" optimize "$ONNX" -o "$WORK/cnn_checked.pt" --data "$FMNIST" --normalize $NORM --samples 200 \
  --no-latency --report "$WORK/convert_checked.json"
py "
import json; m=json.load(open('$WORK/convert_checked.json'))['metrics']
assert m['runtime']=={'before': 'onnxruntime', 'after': 'libtorch'}, m['runtime']
a=m['agreement']; assert a['cosine']>0.99999 and 0<a['max_abs_diff']<1e-3 and a['top1_agreement']>=0.99, a" "conversion checked in ONNX Runtime"
expect_stdout "onnxruntime -> libtorch"
# So is compile's: the compiled .pt against the .onnx as `mopt bench` of it runs it (it reported the
# import's LibTorch time as "before": 2.19x where ONNX Runtime ran the input faster than the result).
expect_exit 0 -- "$MOPT" compile "$ONNX" --profile x86-64-avx512-vnni -o "$WORK/cnn_compiled.pt" --input-shape 1x1x28x28 \
  --no-latency --report "$WORK/compile_onnx.json"
py "
import json; m=json.load(open('$WORK/compile_onnx.json'))['metrics']
assert m['runtime']=={'before': 'onnxruntime', 'after': 'libtorch'}, m['runtime']
assert m['agreement']['cosine']>0.99999 and m['agreement']['max_abs_diff']>0, m['agreement']" "compile of an .onnx measured against ONNX Runtime"

# bench straight from the .onnx (input shape from the graph), same accuracy as the twin.
expect_exit 0 -- "$MOPT" bench "$ONNX" --data "$FMNIST" --normalize $NORM --samples 2000 --threads 1 --report "$WORK/b_onnx.json"
expect_exit 0 -- "$MOPT" bench "$TWIN" --data "$FMNIST" --normalize $NORM --samples 2000 --threads 1 --report "$WORK/b_pt.json"
py "
import json
a=json.load(open('$WORK/b_onnx.json'))['metrics']['accuracy']['top1']; b=json.load(open('$WORK/b_pt.json'))['metrics']['accuracy']['top1']
assert abs(a-b) <= 0.001, (a, b)" "bench accuracy of the ONNX model equals the twin's"
expect_exit 0 -- "$MOPT" bench "$ONNX" --threads 1 --iterations 5
expect_stderr "input from the ONNX graph"

# Static INT8 (TorchScript out) from ONNX and from the twin: accuracies within 0.1 pt.
for src in pt onnx; do
  model=$ONNX; [ $src = pt ] && model=$TWIN
  expect_exit 0 -- "$MOPT" quantize "$model" -o "$WORK/q_$src.pt" --calib "$FMNIST" --calib-samples 256 \
    --eval-data "$FMNIST" --eval-samples 2000 --normalize $NORM --no-latency --report "$WORK/q_$src.json"
done
validate_report "$WORK/q_onnx.json"
py "
import json
a=json.load(open('$WORK/q_onnx.json'))['metrics']['after']['accuracy']['top1']; b=json.load(open('$WORK/q_pt.json'))['metrics']['after']['accuracy']['top1']
assert abs(a-b) <= 0.001, (a, b)" "INT8 from ONNX matches INT8 from the twin"
# The INT8 file from an .onnx is also measured against the .onnx as ONNX Runtime runs it (the table
# above is against mopt's optimized fp32 import in LibTorch); a .pt input has no such second row.
py "
import json
q=json.load(open('$WORK/q_onnx.json'))['details']['quantization']; t=json.load(open('$WORK/q_pt.json'))['details']['quantization']
g=q['vs_input_as_given']; assert g['runtime']=={'before': 'onnxruntime', 'after': 'libtorch'}, g['runtime']
assert 0.99 < g['agreement']['cosine'] < 1 and g['agreement']['top1_agreement'] >= 0.95, g['agreement']
assert 'vs_input_as_given' not in t" "INT8 from ONNX measured against the .onnx in ONNX Runtime"
expect_stdout "output vs the .onnx in onnxruntime"  # the last run's (onnx)
py "
import torch; m=torch.jit.load('$WORK/q_onnx.pt'); assert 'quantized::conv2d' in str(m.graph)" "INT8 artifact holds quantized convs"

# Channel pruning on the imported model: same surgery and accuracy as on the twin.
for src in onnx pt; do
  model=$ONNX; [ $src = pt ] && model=$TWIN
  expect_exit 0 -- "$MOPT" prune "$model" -o "$WORK/p_$src.pt" --method channel --amount 0.3 \
    --eval-data "$FMNIST" --eval-samples 2000 --normalize $NORM --no-latency --report "$WORK/p_$src.json"
done
py "
import json
a=json.load(open('$WORK/p_onnx.json'))['metrics']; b=json.load(open('$WORK/p_pt.json'))['metrics']
assert abs(a['after']['accuracy']['top1']-b['after']['accuracy']['top1']) <= 0.001, (a['after'], b['after'])
assert a['runtime']=={'before': 'onnxruntime', 'after': 'libtorch'} and b['runtime']['before']=='libtorch', (a['runtime'], b['runtime'])
assert abs(a['before']['accuracy']['top1']-b['before']['accuracy']['top1']) <= 0.001, (a['before'], b['before'])" "pruned ONNX model matches the pruned twin"

# Distillation with an ONNX teacher equals distillation with the TorchScript teacher.
for src in onnx pt; do
  teacher=$ONNX; [ $src = pt ] && teacher=$TWIN
  expect_exit 0 -- "$MOPT" distill --teacher "$teacher" --student "$FIXTURES/fashion_student.pt" --train "$FMNIST" \
    --train-samples 2000 --val "$FMNIST" --val-samples 1000 --normalize $NORM --epochs 1 --recipe fixed -o "$WORK/s_$src.pt" \
    --report "$WORK/s_$src.json"
done
py "
import json
a=json.load(open('$WORK/s_onnx.json'))['metrics']; b=json.load(open('$WORK/s_pt.json'))['metrics']
assert a['teacher']['accuracy'] == b['teacher']['accuracy'], (a, b)
assert abs(a['student']['accuracy_after']-b['student']['accuracy_after']) <= 0.001, (a, b)" "distillation with an ONNX teacher matches the TorchScript teacher"

# Imported fixture models (torchvision, transformer, LSTM/GRU, paddle-style) match PyTorch's outputs
# (numpy's for the paddle-style CNN) and ONNX Runtime's, within 1e-4 relative.
ORT="$SOURCE_DIR/lib/runtime/ort/run_onnx.js"
have_ort=0
[ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null && have_ort=1
[ $have_ort = 1 ] || echo "note: ONNX Runtime not installed (lib/runtime/ort); skipping the ORT comparisons" >&2
if [ -f "$FIXTURES/onnx_import/index.json" ]; then
  for name in $(/usr/bin/python3 -c "import json; print(' '.join(m['name'] for m in json.load(open('$FIXTURES/onnx_import/index.json'))['models']))"); do
    dir="$FIXTURES/onnx_import"
    expect_exit 0 -- "$MOPT" optimize "$dir/$name.onnx" -o "$WORK/$name.pt" -q
    ort_out=""
    if [ $have_ort = 1 ]; then
      node "$ORT" "$dir/$name.onnx" "$dir/$name.input.npy" "$WORK/$name.ort.npy" || fail "ONNX Runtime could not run $name"
      ort_out="$WORK/$name.ort.npy"
    fi
    py "
import torch, numpy as np
m=torch.jit.load('$WORK/$name.pt'); x=torch.from_numpy(np.load('$dir/$name.input.npy'))
y=m(x); y=(y[0] if isinstance(y, tuple) else y).detach().numpy()
for ref in ['$dir/$name.output.npy', '$ort_out']:
    if not ref: continue
    r=np.load(ref); err=np.abs(y-r).max()
    assert err <= 1e-4*max(1.0, np.abs(r).max()), (ref, err)" "imported $name matches PyTorch and ONNX Runtime"
  done
else
  fail "onnx_import fixtures missing (scripts/make_fixtures.sh)"
fi

# Bad input: unsupported ops are listed (exit 4, nothing written); corrupt files exit 4.
NMS=/usr/share/libonnx-testdata/data/node/test_nonmaxsuppression_center_point_box_format/model.onnx
expect_exit 4 -- "$MOPT" optimize "$NMS" -o "$WORK/nms.pt"
expect_stderr "NonMaxSuppression"
[ ! -e "$WORK/nms.pt" ] || fail "a failed import left an output file"
expect_exit 0 -- "$MOPT" inspect "$NMS"
expect_stdout "runs in mopt: no"
expect_exit 4 -- "$MOPT" bench "$FIXTURES/bad/random.onnx" --input-shape 1x3

# Mutated ONNX files (bit flips, truncations, zeroed ranges; seeded): the importer imports them or
# refuses them with exit 4, never crashes or fails another way.
/usr/bin/python3 - "$FIXTURES" "$WORK/mutants" <<'PY'
import os, random, sys
random.seed(7)
sources = [f"{sys.argv[1]}/onnx_import/paddle_style_cnn.onnx", f"{sys.argv[1]}/onnx_import/gru.onnx", f"{sys.argv[1]}/fashion_cnn.onnx"]
os.makedirs(sys.argv[2])
for i in range(30):
    data = bytearray(open(sources[i % 3], "rb").read())
    if i % 3 == 0:
        for _ in range(8):
            p = random.randrange(len(data)); data[p] ^= 1 << random.randrange(8)
    elif i % 3 == 1:
        data = data[:random.randrange(len(data))]
    else:
        p = random.randrange(len(data)); n = random.randrange(1, 64); data[p:p + n] = bytes(n)
    open(f"{sys.argv[2]}/m{i}.onnx", "wb").write(data)
PY
for mutant in "$WORK"/mutants/*.onnx; do
  "$MOPT" optimize "$mutant" -o "$WORK/mutant.pt" -q 2>"$WORK/err"
  code=$?
  [ $code -eq 0 ] || [ $code -eq 4 ] || fail "$(basename "$mutant"): exit $code ($(head -c 300 "$WORK/err"))"
  [ $code -eq 0 ] || [ ! -e "$WORK/mutant.pt" ] || fail "$(basename "$mutant"): a failed import left an output"
  rm -f "$WORK/mutant.pt"
done
expect_exit 2 -- "$MOPT" optimize "$TWIN" -o "$WORK/x.onnx"
expect_stderr "input-shape"
# Without data, prune measures an ONNX model on its declared inputs (a TorchScript file has none: exit 2).
expect_exit 0 -- "$MOPT" prune "$ONNX" -o "$WORK/x.onnx" --amount 0.3 --no-latency
expect_stderr "input from the ONNX graph"
expect_exit 2 -- "$MOPT" prune "$TWIN" -o "$WORK/x.pt" --amount 0.3
expect_stderr "give --eval-data or --input-shape"
finish
