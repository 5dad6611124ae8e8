# mopt compile with device profiles, keep-if-faster, lite output; bench --profile budgets as gates.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
py() { "$PY" -c "$1" || fail "$2"; }

# Host profile with per-pass measurement: one decision per requested pass, numerics unchanged.
expect_exit 0 -- "$MOPT" compile "$CNN" --profile x86-64-avx512-vnni -o "$WORK/server.pt" --input-shape 1x1x28x28 \
  --keep-if-faster --iterations 10 --report "$WORK/c.json"
validate_report "$WORK/c.json"
py "
import json; r=json.load(open('$WORK/c.json')); c=r['details']['compile']
assert c['profile']=='x86-64-avx512-vnni' and len(c['decisions'])==len(c['requested_pipeline'].split(',')), c
assert r['metrics']['agreement']['cosine']>0.9999, r['metrics']['agreement']
assert r['pipeline']==c['kept_pipeline']
m=r['metrics']['latency_measurement']
# One round of 10 calls per file (each pass's decision too); test_optimize checks the extra-rounds rule.
assert 'fresh process' in m['method'] and m['rounds']==1 and m['timed_calls']==10, m
assert r['metrics']['before']['latency']['count']==m['timed_calls']==r['metrics']['after']['latency']['count'], r['metrics']
assert r['metrics']['runtime']=={'before': 'libtorch', 'after': 'libtorch'}, r['metrics']['runtime']
assert all(d['reason'].startswith(('kept', 'dropped')) for d in c['decisions']), c['decisions']" "compile report: latencies from fresh processes"
py "import torch; m=torch.jit.load('$WORK/server.pt'); assert m(torch.randn(1,1,28,28)).shape==(1,10)" "compiled .pt loads in PyTorch"
# The input exported to ONNX is timed in ONNX Runtime against the compiled file, side by side, so
# compile can say when -o OUT.onnx would be faster; not with --no-latency (nothing is timed).
if [ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
  py "
import json; r=json.load(open('$WORK/c.json')); a=r['details']['compile']['onnxruntime_alternative']
assert a['status']=='measured' and a['compiled_p50_ms']>0 and a['onnxruntime_p50_ms']>0 and a['cosine']>0.9999, a
assert abs(a['speedup_p50']-a['compiled_p50_ms']/a['onnxruntime_p50_ms'])<1e-6, a" "compile times the ONNX alternative"
fi

# --keep-if-faster drops a pass whose outputs stop agreeing, however fast: the untrained MobileNetV2
# fixture's outputs (~3e-9) sit below the resolution at which the oneDNN form rounds ReLU6.
expect_exit 0 -- "$MOPT" compile "$FIXTURES/mobilenet_v2.pt" --profile x86-64-avx512-vnni -p 'optimize-for-inference{mkldnn=true}' \
  -o "$WORK/mnv2.pt" --data "$FIXTURES/mobilenet_v2.input.npy" --keep-if-faster --iterations 6 --report "$WORK/k.json"
expect_stdout "dropped: outputs changed"
py "
import json; r=json.load(open('$WORK/k.json')); d=r['details']['compile']['decisions']
assert [x['kept'] for x in d]==[False] and r['details']['compile']['kept_pipeline']=='', d
assert r['metrics']['agreement']['cosine']>0.9999, r['metrics']['agreement']
# Every pass dropped: the written graph is the input's, so no speedup is claimed from timing noise.
assert r['metrics']['speedup_p50']==1.0 and r['metrics']['after']==r['metrics']['before'], r['metrics']" "keep-if-faster drops a pass that changes outputs"
expect_stdout "unchanged (the input graph was written)"
# MobileNetV2's buffers are mapped afresh every call with glibc's defaults, so the reported figures
# are taken again with the thresholds a deploying process can set (not in sanitizer builds, whose
# allocator is not glibc's: there the check says it was skipped, or, where the sanitizer build's tensor
# cache already keeps the buffers (LibTorch 2.x: 65-77 faults per call), the check is 'not needed').
py "
import json; m=json.load(open('$WORK/k.json'))['metrics']; a=m.get('allocator_check')
if m['after']['page_faults_per_call']*4096 < 1<<20:
    assert a=={'status':'not needed','reason':'under 1 MB mapped afresh per call'}, (a, m['after'])
elif a['status']=='measured':
    assert a['settings']=='MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456', a
    assert a['latency_measurement']['malloc']=={'mmap_threshold_bytes':33554432,'trim_threshold_bytes':268435456}, a
    assert m['latency_measurement']['malloc']=={'mmap_threshold_bytes':None,'trim_threshold_bytes':None}, m['latency_measurement']
    assert a['before']['latency']['p50_ms']>0 and a['after']['latency']['p50_ms']>0 and a['speedup_p50']>0, a
    assert a['after']['page_faults_per_call'] < m['after']['page_faults_per_call'], (a['after'], m['after'])
else:
    assert a=={'status':'skipped','reason':\"this build's allocator is a sanitizer's, not glibc's\"}, a" "allocator check of a file that maps memory afresh"
grep -q "in the deploying process" "$WORK/out" || grep -q '"skipped"\|"not needed"' "$WORK/k.json" || fail "allocator check line missing"

# Mobile profile: lite .ptl that the lite interpreter loads and that matches the full model.
expect_exit 0 -- "$MOPT" compile "$CNN" --profile android-arm64 -o "$WORK/cnn.ptl" --input-shape 1x1x28x28 --no-latency --report "$WORK/m.json"
expect_stdout "lite interpreter vs full model"
py "
import json; c=json.load(open('$WORK/m.json'))['details']['compile']
assert c['lite_agreement']['cosine']>0.9999 and 'not the target' in c['measured_on'], c" "lite agreement"
py "
import torch
from torch.jit.mobile import _load_for_lite_interpreter
m=_load_for_lite_interpreter('$WORK/cnn.ptl'); assert m(torch.randn(1,1,28,28)).shape==(1,10)" "ptl loads in PyTorch's lite interpreter"

# --specialize: specialize-input-shape is appended for --input-shape; the artifact only takes that shape.
TR="$FIXTURES/transformer.pt"
expect_exit 0 -- "$MOPT" compile "$TR" --profile x86-64-avx2 -o "$WORK/tr.pt" --input-shape 1x16x64 --specialize \
  --no-latency --report "$WORK/s.json"
validate_report "$WORK/s.json"
py "
import json; r=json.load(open('$WORK/s.json')); c=r['details']['compile']
assert c['requested_pipeline'].endswith(',specialize-input-shape{shape=1x16x64}'), c
p=[p for p in r['passes'] if p['name']=='specialize-input-shape'][0]
assert p['rewrites']>0 and p['details']['none_inputs']==['mask','src_key_padding_mask'], p
assert p['details']['branches_after']<p['details']['branches_before'], p
assert r['metrics']['agreement']['max_abs_diff']<1e-5, r['metrics']['agreement']" "specialize report"
py "
import torch
m=torch.jit.load('$WORK/tr.pt'); assert m(torch.randn(1,16,64)).shape==(1,16,64)
try:
    m(torch.randn(2,16,64)); raise SystemExit('a 2x16x64 input was accepted')
except Exception as e: assert 'specialized for inputs 1x16x64:float32' in str(e), e" "specialized .pt in PyTorch: right shape runs, wrong shape is refused"
# Spelled out in --pipeline (fuse-add-relu too): same passes, no --specialize needed.
expect_exit 0 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -o "$WORK/cnn_s.pt" --input-shape 1x1x28x28 --no-latency \
  -p 'freeze,fuse-add-relu{inplace=true},specialize-input-shape{shape=1x1x28x28}' --report "$WORK/s2.json"
py "
import json; r=json.load(open('$WORK/s2.json')); p={p['name']: p for p in r['passes']}
assert p['fuse-add-relu']['details']['activations_made_in_place']==3 and p['specialize-input-shape']['rewrites']==0, p
assert 'onnxruntime_alternative' not in r['details']['compile'], r['details']['compile']" "fuse-add-relu and a no-op specialization"
expect_exit 2 -- "$MOPT" compile "$TR" --profile x86-64-avx2 -o "$WORK/x.pt" --input-shape 4x16x64 --specialize
expect_stderr "must start with 1"
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -o "$WORK/x.pt" --data /usr/share/datasets/fashion-mnist --specialize
expect_stderr "give --input-shape"
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -o "$WORK/x.pt" --input-shape 1x1x28x28 -p 'freeze,specialize-input-shape'
expect_stderr "needs the shape"

# .onnx output: LibTorch-only passes skipped, exported after the rest, checked in ONNX Runtime against
# the input in LibTorch. --no-latency: outputs compared, nothing timed, no figure reported.
expect_exit 0 -- "$MOPT" compile "$CNN" --profile x86-64-avx512-vnni -o "$WORK/cnn.onnx" --input-shape 1x1x28x28 \
  --no-latency --report "$WORK/o.json"
expect_stdout "ONNX, checked in ONNX Runtime"
expect_stdout "latency p50 (ms, b=1, on this host) *not measured (--no-latency)"
validate_report "$WORK/o.json"
py "
import json, onnx; r=json.load(open('$WORK/o.json')); c=r['details']['compile']; m=r['metrics']
assert c['format']=='onnx' and c['skipped_for_onnx']==['channels-last', 'optimize-for-inference{mkldnn=true}', 'prepack-lstm'], c
assert c['kept_pipeline']=='remove-dropout,fold-conv-bn,freeze', c
assert m['runtime']=={'before': 'libtorch', 'after': 'onnxruntime'} and m['agreement']['cosine']>0.9999, m
assert m['latency_measurement']=={'method': 'not measured (--no-latency)'} and 'speedup_p50' not in m, m
assert m['before']=={} and m['after']=={} and 'allocator_check' not in m, m
onnx.checker.check_model(onnx.load('$WORK/cnn.onnx'), full_check=True)" "compile to .onnx, --no-latency"
# --specialize with .onnx output: the exported graph declares the shape too (the exporter writes a dynamic batch).
expect_exit 0 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -o "$WORK/cnn_fixed.onnx" --input-shape 1x1x28x28 --specialize \
  --no-latency --report "$WORK/of.json"
py "
import json, onnx; r=json.load(open('$WORK/of.json')); e=r['details']['compile']['specialized_export']
assert e['input_dims_fixed']==1 and e['verified'], e
m=onnx.load('$WORK/cnn_fixed.onnx'); onnx.checker.check_model(m, full_check=True)
assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]==[1,1,28,28], m.graph.input[0]" "--specialize to .onnx"
# ONNX in, ONNX out: the graph stays ONNX (the ONNX clean-up pipeline, no TorchScript round trip),
# both sides run in ONNX Runtime, and the written file is never slower than the input.
expect_exit 0 -- "$MOPT" compile "$WORK/cnn.onnx" --profile x86-64-avx2 -o "$WORK/cnn2.onnx" --iterations 10 --report "$WORK/o2.json"
validate_report "$WORK/o2.json"
py "
import json; r=json.load(open('$WORK/o2.json')); m=r['metrics']; c=r['details']['compile']; g=c['compiled_graph']
assert m['runtime']=={'before': 'onnxruntime', 'after': 'onnxruntime'} and m['agreement']['cosine']>0.9999, m
assert c['requested_pipeline'].startswith('constants-to-initializers,') and m['speedup_p50']>=1.0, (c, m['speedup_p50'])
assert g['written']==(g['speedup_p50']>=1.0), g" "compile .onnx to .onnx"
# paddle2onnx-style weights in Constant nodes: the clean-up folds them into fewer nodes, same outputs.
P="$FIXTURES/onnx_import/paddle_style_cnn"
expect_exit 0 -- "$MOPT" compile "$P.onnx" --profile x86-64-avx2 -o "$WORK/paddle.onnx" --data "$P.input.npy" --no-latency \
  --report "$WORK/p.json"
py "
import json, onnx; r=json.load(open('$WORK/p.json')); c=r['details']['compile']
assert c['nodes']['after'] < c['nodes']['before'] and c['rewrites'] >= 10, c
assert r['metrics']['agreement']['cosine'] > 0.9999, r['metrics']['agreement']
onnx.checker.check_model(onnx.load('$WORK/paddle.onnx'), full_check=True)" "compile of a paddle-style ONNX CNN"
# --specialize on ONNX (PyTorch's own export of the transformer, batch and length dynamic): the
# inputs get the given dims, the shape arithmetic folds, the outputs agree, and ONNX Runtime then
# refuses another shape as invalid input.
T="$FIXTURES/onnx_import/transformer"
expect_exit 0 -- "$MOPT" compile "$T.onnx" --profile x86-64-avx2 -o "$WORK/tr_fixed.onnx" --input-shape 1x16x64 --specialize \
  --no-latency --report "$WORK/ts.json"
validate_report "$WORK/ts.json"
py "
import json; r=json.load(open('$WORK/ts.json')); c=r['details']['compile']
p=[p for p in r['passes'] if p['name']=='specialize-input-shape'][0]['details']
assert p['input_dims_fixed']==2 and p['shape_queries_folded']>=4 and p['output_dims_fixed']==2 and p['verified'], p
assert c['nodes']['after'] < c['nodes']['before'] // 2, c['nodes']
assert r['metrics']['agreement']['max_abs_diff'] < 1e-5, r['metrics']['agreement']" "compile --specialize of an ONNX graph"
expect_exit 0 -- "$MOPT" optimize "$T.onnx" -p 'specialize-input-shape{shape=1x16x64}' -o "$WORK/tr_spec.onnx" --iterations 10 -q
py "
import onnx; m=onnx.load('$WORK/tr_spec.onnx'); onnx.checker.check_model(m, full_check=True)
assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]==[1,16,64], m.graph.input[0]" "specialized ONNX declares its shape"
expect_exit 4 -- "$MOPT" bench "$WORK/tr_spec.onnx" --input-shape 1x20x64 --iterations 2
expect_stderr "but the model declares .1, 16, 64. (dim 1 is 20, declared 16)"
# compile checks it too (it was ONNX Runtime's own message, exit 1, after the passes ran)
expect_exit 4 -- "$MOPT" compile "$WORK/tr_spec.onnx" --profile x86-64-avx2 -o "$WORK/x.onnx" --input-shape 1x20x64 --no-latency
expect_stderr "synthetic 1x20x64 gives input 'input' the shape"
[ ! -e "$WORK/x.onnx" ] || fail "a compile refused for its input shape left an output"
expect_exit 2 -- "$MOPT" compile "$T.onnx" --profile x86-64-avx2 -o "$WORK/x.onnx" --input-shape 1x16x32 --specialize
expect_stderr "dim 2 is fixed at 64, the spec gives 32"
expect_exit 2 -- "$MOPT" compile "$WORK/cnn.onnx" --profile x86-64-avx2 -p freeze -o "$WORK/x.onnx"
expect_stderr "does not support onnx"

# Bad input.
expect_exit 2 -- "$MOPT" compile "$CNN" --profile android-arm64 -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_stderr ".ptl"
expect_exit 2 -- "$MOPT" compile "$CNN" --profile no-such-board -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_stderr "raspberry-pi-4"
echo '{"name": "broken", "threads": "four"}' > "$WORK/broken.json"
expect_exit 4 -- "$MOPT" compile "$CNN" --profile "$WORK/broken.json" -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -p 'freeze,fuse-conv-bn' -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_stderr "does not support torchscript"
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -o "$WORK/x.pt" --input-shape 1x1x28x28 --keep-if-faster --no-latency
expect_stderr "cannot run with --no-latency"
[ -e "$WORK/x.pt" ] && fail "output written on an error"

# bench --profile: budgets become gates; a breach exits 3; foreign targets are called out.
# One thread keeps the MLP far inside the Pi's latency budget even while other tests load the machine.
expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape 1x784 --profile raspberry-pi-4 --threads 1 --iterations 20 --report "$WORK/pi.json"
expect_stdout "measured on this"
py "
import json; r=json.load(open('$WORK/pi.json')); p=r['details']['profile']
assert p['name']=='raspberry-pi-4' and len(r['gates'])>=1 and p['judged_only_on_target'], p" "profile gates recorded"
expect_exit 3 -- "$MOPT" bench "$FIXTURES/resnet18.pt" --input-shape 1x3x224x224 --profile mcu --iterations 3 --report "$WORK/mcu.json"
grep -q '"verdict": "fail"' "$WORK/mcu.json" || fail "mcu size budget should fail"
# The oneDNN form (x86 profiles) loads in PyTorch, packs its weights on the first call, and can be
# saved again after running (only the dense weights are written).
expect_exit 0 -- "$MOPT" optimize "$CNN" -p 'freeze,optimize-for-inference{mkldnn=true}' -o "$WORK/onednn.pt"
py "
import torch
m=torch.jit.load('$WORK/onednn.pt'); ref=torch.jit.load('$CNN').eval(); x=torch.randn(3,1,28,28)
assert 'mkldnn_convolution' in str(m.forward.graph) or 'mopt_packed' in str(m.forward.graph), m.forward.graph
assert (m(x)-ref(x)).abs().max()<1e-4
torch.jit.save(m, '$WORK/onednn2.pt'); assert (torch.jit.load('$WORK/onednn2.pt')(x)-ref(x)).abs().max()<1e-4" "oneDNN artifact in PyTorch"
finish
