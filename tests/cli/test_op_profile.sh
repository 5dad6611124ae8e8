# mopt bench --op-profile / --trace / --duration and CPU+RSS monitoring: per-layer tables of the
# Fashion-MNIST CNN, a Chrome trace, an INT8 model's quantize/dequantize ops, the max_cpu_percent
# gate, a short soak and the usage errors. Behaviour only: no wall-clock thresholds.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
py() { "$PY" -c "$1" || fail "$2"; }

# Per-layer and per-op profile with a trace; one thread keeps the run cheap on a shared machine.
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --iterations 20 --threads 1 --op-profile --top 100 \
  --trace "$WORK/cnn.trace.json" --report "$WORK/prof.json"
validate_report "$WORK/prof.json"
expect_stdout "features.0"; expect_stdout "classifier.2"; expect_stdout "aten::conv2d"; expect_stdout "hint: "
expect_stdout "profiler overhead"
py "
import json; m=json.load(open('$WORK/prof.json'))['metrics']; p=m['op_profile']
types={l['layer']: l['type'] for l in p['layers']}
for layer, t in [('features.0','Conv2d'),('features.4','Conv2d'),('classifier.2','Linear'),('classifier.5','Linear')]:
    assert types.get(layer)==t, (layer, types)
total=sum(l['total_ms'] for l in p['layers'])
assert abs(total-p['op_total_ms'])<=0.1*p['op_total_ms'], (total, p['op_total_ms'])
assert abs(sum(o['share'] for o in p['ops'])-1)<0.02
assert p['iterations']==20 and p['overhead']['ratio']>0 and p['overhead']['unprofiled_p50_ms']==m['rows'][0]['latency']['p50_ms']
f=p['overhead']['page_faults_per_call']; assert f['profiled']>=0 and f['unprofiled']==m['rows'][0]['memory']['page_faults_per_call'], f
conv=[l for l in p['layers'] if l['layer']=='features.0'][0]
assert conv['input_shapes'].startswith('1x1x28x28, 32x1x3x3'), conv
assert conv['p50_ms']<=conv['p99_ms'] and 'aten::conv2d' in conv['ops']
kinds={h['kind'] for h in p['hints']}
assert 'top-layers' in kinds and ('compute-bound' in kinds or 'memory-bound' in kinds), kinds
assert p['trace']['iterations']==5" "op profile of the CNN"
py "
import json, collections
t=json.load(open('$WORK/cnn.trace.json')); ev=t['traceEvents']
assert all(e['ph']=='X' and {'name','ts','dur','pid','tid'}<=set(e) for e in ev)
its=[e for e in ev if e['cat']=='iteration']; assert len(its)==5, len(its)
ops=[e for e in ev if e['cat']=='cpu_op']
per_it=collections.Counter(e['args']['iteration'] for e in ops)
assert sorted(per_it)==[0,1,2,3,4] and len(set(per_it.values()))==1, per_it
convs=collections.Counter(e['args']['iteration'] for e in ops if e['name']=='aten::conv2d')
assert all(convs[i]==2 for i in range(5)), convs
mods={e['args']['module'] for e in ev if e['cat']=='module'}
assert {'features','features.0','classifier','classifier.2'}<=mods, mods" "Chrome trace"

# Every row reports CPU use and an RSS timeline; a CPU budget in a profile is a gate (exit 3).
py "
import json; r=json.load(open('$WORK/prof.json'))['metrics']['rows'][0]
c=r['cpu']; s=r['memory']['rss']
assert c['percent_one_core']>0 and abs(c['percent']*c['logical_cores']-c['percent_one_core'])<1e-6, c
assert s['peak_mb']>=s['mean_mb']>0 and s['first_inference_mb']>0 and s['end_mb']>0 and len(s['samples'])>=1, s
assert r['memory']['page_faults_per_call']>=0, r['memory']" "cpu and rss per row"
expect_stdout "page faults per call"
# --malloc-tuned: the allocator thresholds are set, and the report says so.
py "
import json; m=json.load(open('$WORK/prof.json'))['metrics']['runtime']['malloc']
assert m=={'mmap_threshold_bytes':None,'trim_threshold_bytes':None}, m" "default allocator settings recorded"
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --iterations 5 --malloc-tuned --report "$WORK/tuned.json"
py "
import json; m=json.load(open('$WORK/tuned.json'))['metrics']['runtime']['malloc']
assert m=={'mmap_threshold_bytes':33554432,'trim_threshold_bytes':268435456}, m" "--malloc-tuned recorded"
/usr/bin/python3 -c "
import json; p=json.load(open('$SOURCE_DIR/tests/fixtures/profiles/custom-board.json'))
p['name']='cpu-budget'; p['quantized_engine']='onednn'; p['budgets']={'batch':1,'latency_p50_ms':None,'latency_p95_ms':None,
 'throughput_samples_per_s':None,'peak_memory_mb':None,'model_size_mb':None,'min_accuracy_top1':None,'max_cpu_percent':0.001}
json.dump(p, open('$WORK/cpu-budget.json','w'))"
expect_exit 3 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --iterations 10 --profile "$WORK/cpu-budget.json" --report "$WORK/cpu.json"
validate_report "$WORK/cpu.json"
expect_stdout "FAIL fail-if cpu.percent > 0.001"
py "
import json; r=json.load(open('$WORK/cpu.json')); g=[g for g in r['gates'] if 'cpu.percent' in g['name']]
assert len(g)==1 and not g[0]['passed'] and r['verdict']=='fail', r['gates']" "cpu budget gate"
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --iterations 10 --fail-if 'cpu.percent > 100.0001'

# INT8: the profile shows the quantize/dequantize boundaries and says what they cost.
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.int8.pt" --calib "$FMNIST" --calib-samples 64 --no-latency --quiet
expect_exit 0 -- "$MOPT" bench "$WORK/cnn.int8.pt" --input-shape 1x1x28x28 --iterations 10 --threads 1 --op-profile --report "$WORK/int8.json"
expect_stdout "quantize"
py "
import json; p=json.load(open('$WORK/int8.json'))['metrics']['op_profile']
ops={o['op'] for o in p['ops']}
assert 'aten::quantize_per_tensor' in ops and 'aten::dequantize' in ops, ops
assert any(o.startswith('quantized::') for o in ops), ops
h=[h for h in p['hints'] if h['kind']=='quantize-boundaries']
assert len(h)==1 and h[0]['figures']['quantize_calls']>=1 and h[0]['figures']['dequantize_calls']>=1, p['hints']
# The INT8 model is frozen, yet its fused ops keep the layers they came from (mopt_layers.json).
layers={l['layer']: l for l in p['layers']}
for layer, t, op in [('features.0','Conv2d','quantized::conv2d_relu'),('features.4','Conv2d','quantized::conv2d_relu'),
                     ('classifier.2','Linear','quantized::linear_relu'),('classifier.5','Linear','quantized::linear')]:
    assert layer in layers and layers[layer]['type']==t and op in layers[layer]['ops'], (layer, layers.get(layer))" "INT8 profile"

# A model frozen into oneDNN ops: prim::mkldnn_convolution never reaches LibTorch's profiler on its
# own; the profile must still account for it, in its layer.
expect_exit 0 -- "$MOPT" optimize "$CNN" -p 'freeze,optimize-for-inference{mkldnn=true}' -o "$WORK/cnn.mkldnn.pt" --quiet
expect_exit 0 -- "$MOPT" bench "$WORK/cnn.mkldnn.pt" --input-shape 1x1x28x28 --iterations 10 --threads 1 --op-profile --report "$WORK/mkldnn.json"
expect_stdout "prim::mkldnn_convolution"
py "
import json; p=json.load(open('$WORK/mkldnn.json'))['metrics']['op_profile']
convs=[o for o in p['ops'] if o['op']=='prim::mkldnn_convolution']
assert len(convs)==1 and convs[0]['calls']==2, p['ops']
layers={l['layer']: l for l in p['layers']}
for layer in ['features.0','features.4']:
    assert layers[layer]['type']=='Conv2d' and 'prim::mkldnn_convolution' in layers[layer]['ops'], layers.get(layer)
assert 'classifier.2' in layers, list(layers)" "oneDNN model profile"

# Soak: windows, drift and RSS growth; the row's stop rule says so.
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --threads 1 --warmup 2 --duration 1 --window 0.5 --rate 200 --report "$WORK/soak.json"
validate_report "$WORK/soak.json"
expect_stdout "drift last vs first window"
py "
import json; r=json.load(open('$WORK/soak.json'))['metrics']['rows'][0]; s=r['soak']
assert r['stopped_by']=='duration' and r['stop_rule'].startswith('duration=1s rate=200/s'), r['stop_rule']
assert len(s['windows'])==2 and sum(w['count'] for w in s['windows'])==r['latency']['count']
assert r['latency']['count']<=201, r['latency']['count']
assert 'p50_percent' in s['drift'] and isinstance(s['rss_growth_flagged'], bool)" "soak report"
# The same soak in ONNX Runtime: its helper paces the calls and reads RSS at each window's end.
expect_exit 0 -- "$MOPT" bench "$FIXTURES/fashion_cnn.onnx" --threads 1 --warmup 2 --duration 1 --window 0.5 --rate 200 \
  --report "$WORK/ort-soak.json"
validate_report "$WORK/ort-soak.json"
expect_stdout "drift last vs first window"
py "
import json; m=json.load(open('$WORK/ort-soak.json'))['metrics']; r=m['rows'][0]; s=r['soak']
assert m['runtime']['name']=='onnxruntime' and r['stopped_by']=='duration' and r['stop_rule'].startswith('duration=1s rate=200/s'), r
assert len(s['windows'])==2 and sum(w['count'] for w in s['windows'])==r['latency']['count'] and all(w['count']>0 for w in s['windows'])
assert 100<=r['latency']['count']<=201 and all(w['rss_end_mb']>0 for w in s['windows']), (r['latency']['count'], s)
assert 'p50_percent' in s['drift'] and s['late_starts']>=0
assert r['memory']['page_faults_per_call']>=0 and 'malloc' in m['runtime'], (r['memory'], m['runtime'])" "ONNX Runtime soak report"

# Usage errors: exit 2 before anything runs.
expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --rate 10
expect_stderr "need --duration"
expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --duration 1 --iterations 5
expect_stderr "one stop rule"
expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --duration 2 --window 3
expect_stderr "--window"
expect_exit 2 -- "$MOPT" bench "$FIXTURES/fashion_cnn.onnx" --duration 2 --window 3
expect_stderr "--window"

# ONNX Runtime: its session profiling feeds the same tables (one row per graph node after ORT's
# fusions), the hints, the overhead and a Chrome trace ORT wrote itself; INT8 kernels and the
# QuantizeLinear/DequantizeLinear boundaries of a QDQ model are named.
ONNX="$FIXTURES/fashion_cnn.onnx"
expect_exit 0 -- "$MOPT" bench "$ONNX" --iterations 20 --threads 1 --op-profile --trace "$WORK/ort_trace.json" --report "$WORK/ort.json"
validate_report "$WORK/ort.json"
expect_stdout "op profile (batch=1 threads=1, 20 iterations)"
py "
import json; r=json.load(open('$WORK/ort.json')); p=r['metrics']['op_profile']
assert r['metrics']['runtime']['name']=='onnxruntime' and p['iterations']==20, p['iterations']
ops={o['op']: o for o in p['ops']}
assert any('Conv' in op for op in ops) and any('Gemm' in op or 'MatMul' in op for op in ops), list(ops)
assert abs(sum(o['share'] for o in p['ops'])-1) < 1e-6 and len(p['layers']) >= 4, p['layers']
assert p['overhead']['ratio'] > 0 and p['trace']['written_by']=='onnxruntime', (p['overhead'], p['trace'])
t=json.load(open('$WORK/ort_trace.json')); assert sum(e['cat']=='Node' for e in t) >= 20*4, len(t)" "ONNX Runtime op profile"
# ONNX Runtime rows carry the helper process's CPU use and RSS timeline; CPU gates apply to them.
py "
import json; r=json.load(open('$WORK/ort.json'))['metrics']['rows'][0]
c=r['cpu']; s=r['memory']['rss']
assert c['percent_one_core']>0 and c['wall_s']>0 and abs(c['percent']*c['logical_cores']-c['percent_one_core'])<1e-6, c
assert s['peak_mb']>=s['mean_mb']>0 and s['first_inference_mb']>0 and len(s['samples'])>=1, s" "cpu and rss per ONNX Runtime row"
expect_exit 3 -- "$MOPT" bench "$ONNX" --iterations 10 --threads 1 --fail-if 'cpu.percent > 0.001'
expect_stdout "FAIL fail-if cpu.percent > 0.001"
expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/cnn.int8.onnx" --calib "$FMNIST" --calib-samples 64 --normalize 0.2860,0.3530 --no-latency --quiet
expect_exit 0 -- "$MOPT" bench "$WORK/cnn.int8.onnx" --input-shape 1x1x28x28 --iterations 10 --threads 1 --op-profile --report "$WORK/ort8.json"
py "
import json; p=json.load(open('$WORK/ort8.json'))['metrics']['op_profile']
ops={o['op'] for o in p['ops']}
assert 'QLinearConv' in ops and 'QuantizeLinear' in ops and 'DequantizeLinear' in ops, ops
assert any(h['kind']=='quantize-boundaries' for h in p['hints']), p['hints']" "ONNX Runtime INT8 profile"
finish
