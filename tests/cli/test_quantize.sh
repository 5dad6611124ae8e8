# mopt quantize: static INT8 on the Fashion-MNIST CNN with real calibration data, dynamic INT8 on
# the MLP, per-layer report, skip/fallback, gates, models that branch on `self.training`, bad input.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
py() { "$PY" -c "$1" || fail "$2"; }

# Static INT8: accuracy within 0.5 points of fp32 on the test split, artifact loads in PyTorch.
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.int8.pt" --calib "$FMNIST" --calib-samples 512 \
  --eval-data "$FMNIST" --eval-samples 2000 --normalize 0.2860,0.3530 --no-latency --report "$WORK/q.json"
validate_report "$WORK/q.json"
py "
import json; r=json.load(open('$WORK/q.json')); m=r['metrics']; q=r['details']['quantization']
drop=m['before']['accuracy']['top1']-m['after']['accuracy']['top1']
assert drop<=0.005, drop
assert q['mode']=='static' and q['engine'] in ('x86','fbgemm','onednn','qnnpack') and len(q['activations'])>=4, q
assert all(a['sqnr_db']>10 for a in q['activations']), q['activations']
assert r['outputs'][0]['bytes'] < 0.4*r['inputs'][0]['bytes'], (r['outputs'][0]['bytes'], r['inputs'][0]['bytes'])
b=q['boundaries']  # one quantize at the input, one dequantize before the logits: INT8 end to end
assert b['quantize']==1 and b['dequantize']==1 and b['fp32_consumers']=={'return': 1} and b['quantized_ops']>=4, b
c=q['calibrator_check']  # with evaluation data every calibrator's INT8 model is scored; minmax has no better one
assert c['samples']==16 and len(c['output_sqnr_db'])==5 and 'warning' not in c and c['output_sqnr_db']['minmax']>30, c" \
  "static quantization report"
# A calibrator that clips what matters (the 95th percentile) collapses the output (5 dB where minmax reaches
# 42); the calibrator check says which one did better, and the file is still written (a warning).
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/p95.pt" --calib "$FMNIST" --calib-samples 256 --calibrator percentile \
  --percentile 95 --eval-data "$FMNIST" --eval-samples 200 --normalize 0.2860,0.3530 --no-latency --report "$WORK/p95.json"
expect_stdout "WARNING: the percentile calibrator's INT8 model reaches an output SQNR of"
py "
import json; c=json.load(open('$WORK/p95.json'))['details']['quantization']['calibrator_check']; s=c['output_sqnr_db']
assert c['best'] != 'percentile' and s[c['best']] - s['percentile'] >= 3 and 'try --calibrator '+c['best'] in c['warning'], c" \
  "the calibrator check of the LibTorch INT8 path names the better calibrator"
py "
import torch
g=torch.jit.load('$WORK/cnn.int8.pt').graph; n=lambda k: sum(1 for x in g.nodes() if x.kind()==k)
# one quantize_per_tensor at the input (LibTorch 2.x's FBGEMM one; float_quantize.h), one dequantize
assert n('aten::quantize_per_tensor')==1 and n('aten::_make_per_tensor_quantized_tensor')==0 and n('aten::dequantize')==1, g" \
  "boundary counts agree with PyTorch's view of the graph"
py "
import torch
m=torch.jit.load('$WORK/cnn.int8.pt'); y=m(torch.randn(2,1,28,28)); assert y.shape==(2,10)
assert 'quantized::conv2d' in str(m.graph) or 'quantized::conv2d_relu' in str(m.graph), m.graph" "artifact loads in PyTorch"

# The quantized engine: each available one of x86, onednn and fbgemm timed on the INT8 file, the fastest
# kept (the one in effect on a near tie), recorded in the artifact, and active again when it loads;
# --engine pins it (nothing timed, the artifact records it, and `mopt bench` honours it).
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/engine.pt" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
  --eval-samples 64 --normalize 0.2860,0.3530 --threads 1 --iterations 4 --allow-slower --report "$WORK/engine.json"
expect_stderr "quantized engine: p50 "
expect_exit 0 -- "$MOPT" bench "$WORK/engine.pt" --input-shape x:1x1x28x28 --iterations 3 --report "$WORK/engine_bench.json"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/onednn.pt" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
  --eval-samples 64 --normalize 0.2860,0.3530 --threads 1 --iterations 4 --allow-slower --engine onednn --report "$WORK/onednn.json"
expect_exit 0 -- "$MOPT" bench "$WORK/onednn.pt" --input-shape x:1x1x28x28 --iterations 3 --report "$WORK/onednn_bench.json"
expect_exit 0 -- "$MOPT" bench "$WORK/onednn.pt" --input-shape x:1x1x28x28 --iterations 3 --engine x86 --report "$WORK/pinned_bench.json"
py "
import json, zipfile
q=json.load(open('$WORK/engine.json'))['details']['quantization']; e=q['engines_p50_ms']
assert set(e) >= {'x86', 'onednn'} and q['engine'] in e, q
assert e[q['engine']]*1.1 <= e['x86'] or q['engine']=='x86', e  # another engine only when 10% faster
recorded=lambda f: json.loads(zipfile.ZipFile(f).read(next(n for n in zipfile.ZipFile(f).namelist() if n.endswith('extra/mopt.json'))))
assert recorded('$WORK/engine.pt')['quantized_engine']==q['engine'], recorded('$WORK/engine.pt')
env=lambda f: json.load(open(f))['environment']['quantized_engine']
assert env('$WORK/engine_bench.json')==q['engine'], env('$WORK/engine_bench.json')
p=json.load(open('$WORK/onednn.json'))['details']['quantization']
assert p['engine']=='onednn' and p['engines_p50_ms']=={} and recorded('$WORK/onednn.pt')['quantized_engine']=='onednn', p
assert env('$WORK/onednn_bench.json')=='onednn' and env('$WORK/pinned_bench.json')=='x86'" \
  "engine chosen by timing, recorded, honoured at load, pinned by --engine"

# quantize is a preset pipeline: the one it prints runs in `mopt optimize` on the same calibration data
# and makes the same INT8 model (what quantize adds is the measuring and the accuracy fallback).
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/never.pt" --calibrator percentile --percentile 99.9 --print-pipeline
pipeline=$(cat "$WORK/out")
[ "$pipeline" = "quantize-static{calibrator=percentile calib-batch=32 percentile=99.9 per-channel=true}" ] || fail "printed pipeline: $pipeline"
[ ! -e "$WORK/never.pt" ] || fail "--print-pipeline wrote a file"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/preset.pt" --calib "$FMNIST" --calib-samples 128 --calibrator percentile \
  --percentile 99.9 --normalize 0.2860,0.3530 --no-latency
expect_exit 0 -- "$MOPT" optimize "$CNN" -p "$pipeline" --calib "$FMNIST" --calib-samples 128 --normalize 0.2860,0.3530 \
  -o "$WORK/piped.pt" --report "$WORK/piped.json"
py "
import json, torch
torch.manual_seed(0); x=torch.rand(8,1,28,28)
a=torch.jit.load('$WORK/preset.pt')(x); b=torch.jit.load('$WORK/piped.pt')(x)
assert torch.equal(a,b), (a-b).abs().max()
step=json.load(open('$WORK/piped.json'))['passes'][0]
assert step['rewrites']>=4 and step['details']['calibration_samples']==128, step" "optimize -p <printed pipeline> = quantize"
expect_exit 2 -- "$MOPT" optimize "$CNN" -p "$pipeline" -o "$WORK/nocalib.pt"
expect_stderr "calibrates activations"
[ ! -e "$WORK/nocalib.pt" ] || fail "a pipeline that cannot run left a file"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/never.pt" --mode fp16 --print-pipeline
[ "$(cat "$WORK/out")" = "store-weights{dtype=fp16}" ] || fail "fp16 pipeline: $(cat "$WORK/out")"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/preset16.pt" --mode fp16 --eval-data "$FMNIST" --eval-samples 100 \
  --normalize 0.2860,0.3530 --no-latency
expect_exit 0 -- "$MOPT" optimize "$CNN" -p "store-weights{dtype=fp16}" -o "$WORK/piped16.pt"
py "
import torch
torch.manual_seed(0); x=torch.rand(8,1,28,28)
a=torch.jit.load('$WORK/preset16.pt')(x); b=torch.jit.load('$WORK/piped16.pt')(x)
assert torch.equal(a,b), (a-b).abs().max()
assert 'Half' in str(torch.jit.load('$WORK/piped16.pt').graph)" "optimize -p store-weights = quantize --mode fp16"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/never.pt" --mode bf16-compute --print-pipeline
[ "$(cat "$WORK/out")" = "compute-bf16" ] || fail "bf16-compute pipeline: $(cat "$WORK/out")"

# Dynamic INT8 of nn.TransformerEncoder: only its Linear modules are quantized (a global qconfig also
# caught MultiheadAttention's functional linears on sliced weights, and Finalize failed on them).
expect_exit 0 -- "$MOPT" quantize "$FIXTURES/transformer.pt" -o "$WORK/tr.int8.pt" --mode dynamic \
  --eval-data "$FIXTURES/transformer.input.npy" --no-latency --report "$WORK/tr.json"
expect_stdout "bit-identical to fp32"  # its eval fast path uses the fp32 weights: said, not hidden
py "
import json, torch; r=json.load(open('$WORK/tr.json'))
assert r['details']['quantization']['boundaries']['quantized_ops']==4, r['details']['quantization']['boundaries']
m=torch.jit.load('$WORK/tr.int8.pt'); assert m(torch.randn(1,16,64)).shape==(1,16,64)" "transformer dynamic INT8"

# Dynamic INT8 of the MLP, with per-tensor weights.
expect_exit 0 -- "$MOPT" quantize "$FIXTURES/mlp.pt" -o "$WORK/mlp.int8.pt" --mode dynamic --per-tensor \
  --eval-data "$FIXTURES/mlp.input.npy" --no-latency --report "$WORK/d.json"
py "
import json; r=json.load(open('$WORK/d.json')); g=r['metrics']['agreement']
assert g['cosine']>0.99, g" "dynamic agreement"
py "
import torch; m=torch.jit.load('$WORK/mlp.int8.pt'); s=str(m.graph)
assert 'linear_dynamic' in s, s" "dynamic artifact uses quantized::linear_dynamic"

# fp16 weight storage: half the file, same outputs; symmetric activations pin the zero point.
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.fp16.pt" --mode fp16 --eval-data "$FMNIST" --eval-samples 500 \
  --normalize 0.2860,0.3530 --no-latency --report "$WORK/h.json"
py "
import json; r=json.load(open('$WORK/h.json'))
assert r['details']['quantization']['mode']=='fp16' and r['metrics']['agreement']['cosine']>0.99999, r['metrics']['agreement']
assert r['outputs'][0]['bytes'] < 0.6*r['inputs'][0]['bytes'], (r['outputs'][0]['bytes'], r['inputs'][0]['bytes'])" "fp16 storage"
# bf16 compute: bf16 constants, inputs cast in and outputs cast out (the trained CNN keeps its
# accuracy); a dict output (torchvision's segmentation models) has its stored values cast; PyTorch
# loads both files and gets float32 outputs.
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.bf16c.pt" --mode bf16-compute --eval-data "$FMNIST" --eval-samples 500 \
  --normalize 0.2860,0.3530 --no-latency --report "$WORK/bc.json"
expect_exit 0 -- "$MOPT" quantize "$FIXTURES/dict_output.pt" -o "$WORK/dict.bf16c.pt" --mode bf16-compute \
  --eval-data "$FIXTURES/dict_output.input.npy" --no-latency --report "$WORK/bd.json"
py "
import json, torch
r=json.load(open('$WORK/bc.json')); m=r['metrics']
assert r['details']['quantization']['mode']=='bf16-compute' and m['agreement']['cosine']>0.999, m['agreement']
assert m['before']['accuracy']['top1'] - m['after']['accuracy']['top1'] < 0.01, m
assert json.load(open('$WORK/bd.json'))['metrics']['agreement']['sqnr_db'] > 30
cnn=torch.jit.load('$WORK/cnn.bf16c.pt')
consts=[n.output().toIValue() for n in cnn.graph.nodes() if n.kind()=='prim::Constant' and n.output().type().kind()=='TensorType']
assert consts and all(c.dtype==torch.bfloat16 for c in consts), [c.dtype for c in consts]
assert cnn(torch.rand(2,1,28,28)).dtype==torch.float32
out=torch.jit.load('$WORK/dict.bf16c.pt')(torch.rand(1,3,32,32))
assert all(v.dtype==torch.float32 for v in out.values()), out" "bf16 compute: accuracy kept, float32 outputs (tensor and dict)"
# A model that makes a float32 tensor at run time meets bf16 weights: said up front, nothing written.
cat >"$WORK/zeros.py" <<PY  # a file: TorchScript reads the class's source
import numpy as np, torch
class Zeros(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.conv = torch.nn.Conv2d(3, 4, 3)
    def forward(self, x):
        return self.conv(x + torch.zeros(x.shape[0], 3, 8, 8))
torch.jit.script(Zeros().eval()).save('$WORK/zeros.pt')
np.save('$WORK/zeros.npy', np.random.rand(4, 3, 8, 8).astype('float32'))
PY
/usr/bin/python3 "$WORK/zeros.py" || fail "a model that makes fp32 tensors"
expect_exit 1 -- "$MOPT" quantize "$WORK/zeros.pt" -o "$WORK/zeros.bf16c.pt" --mode bf16-compute --eval-data "$WORK/zeros.npy" --no-latency
expect_stderr "makes float32 tensors of its own somewhere; use --mode bf16"
[ ! -e "$WORK/zeros.bf16c.pt" ] || fail "a refused bf16-compute left a file"
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/sym.pt" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
  --eval-samples 200 --normalize 0.2860,0.3530 --symmetric-activations --no-latency --report "$WORK/y.json"
py "
import json; q=json.load(open('$WORK/y.json'))['details']['quantization']; a=q['activations']
mid=(q['activation_quant_max']+1)//2  # 128, or 64 with 7-bit activations on a CPU without VNNI
assert a and all(x['zero_point']==mid for x in a), a" "symmetric activations"

# --skip keeps a layer in fp32 and says so.
expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/skip.pt" --calib "$FMNIST" --calib-samples 128 --eval-data "$FMNIST" \
  --eval-samples 500 --normalize 0.2860,0.3530 --skip 'classifier.5' --no-latency --report "$WORK/s.json"
grep -q '"--skip"' "$WORK/s.json" || fail "skip reason missing"
expect_stdout "kept in fp32: classifier.5"

# An impossible SQNR target: every trial is reported, exit 3, no artifact.
expect_exit 3 -- "$MOPT" quantize "$CNN" -o "$WORK/never.pt" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
  --eval-samples 200 --normalize 0.2860,0.3530 --min-sqnr 200 --max-trials 2 --no-latency --report "$WORK/t.json"
[ -e "$WORK/never.pt" ] && fail "artifact written although the target was not met"
py "
import json; r=json.load(open('$WORK/t.json')); t=r['details']['quantization']['trials']
assert len(t)==2 and len(t[1]['fp32_layers'])==1 and r['verdict']=='fail', t
assert all(x['speedup_p50'] is None for x in t) and 'speedup_p50' not in r['metrics'], t  # --no-latency: nothing timed
q=r['details']['quantization']['baseline']; assert q=={'pipeline': 'freeze,optimize-for-inference', 'candidates_p50_ms': {}}, q" \
  "fallback trials recorded"

# Branches on `self.training` (torchvision's StochasticDepth as in EfficientNet, an `if not
# self.training: return x` module, an `if self.training:` in forward) are resolved for inference
# before observers go in: the model quantizes, and the artifact runs close to fp32 in PyTorch.
SD="$FIXTURES/stochastic_depth"
expect_exit 0 -- "$MOPT" quantize "$SD.pt" -o "$WORK/sd.int8.pt" --calib "$SD.input.npy" --no-latency --report "$WORK/sd.json"
validate_report "$WORK/sd.json"
py "
import json, torch, numpy as np
r=json.load(open('$WORK/sd.json')); a=r['metrics']['agreement']; assert a['cosine']>0.99 and a['sqnr_db']>20, a
m=torch.jit.load('$WORK/sd.int8.pt'); assert 'quantized::conv2d' in str(m.graph), m.graph
x=torch.from_numpy(np.load('$SD.input.npy')); y=torch.from_numpy(np.load('$SD.output.npy'))
out=m(x); assert out.shape==y.shape and torch.nn.functional.cosine_similarity(out.flatten(), y.flatten(), 0)>0.99" \
  "stochastic-depth model quantized"
expect_exit 0 -- "$MOPT" quantize "$SD.pt" -o "$WORK/sd.dyn.pt" --mode dynamic --eval-data "$SD.input.npy" --no-latency

# SiLU (nn.SiLU(inplace=True) twice, F.silu in a squeeze-excite block) is computed as x * sigmoid(x)
# so the INT8 chain never leaves INT8: LibTorch has no quantized SiLU.
SE="$FIXTURES/silu_se"
expect_exit 0 -- "$MOPT" quantize "$SE.pt" -o "$WORK/se.int8.pt" --calib "$SE.input.npy" --iterations 5 --allow-slower --report "$WORK/se.json"
expect_stdout "3 SiLU computed as x \* sigmoid(x)"
expect_stdout "INT8 chain: [0-9]* quantized ops, 1 quantize and 1 dequantize boundaries; fp32 ops fed by a dequantize: return x1$"
py "
import json
q=json.load(open('$WORK/se.json'))['details']['quantization']; assert q['silu_as_sigmoid_mul']==3, q
assert q['boundaries']['quantize']==1 and q['boundaries']['fp32_consumers']=={'return': 1}, q['boundaries']
b=q['baseline']; c=b['candidates_p50_ms']  # its 3x3 convs can go channels-last: every fp32 file timed, the fastest kept
assert sorted(c)==['freeze,channels-last', 'freeze,channels-last,optimize-for-inference', 'freeze,optimize-for-inference'], c
assert b['pipeline']==min(c, key=c.get), b" \
  "SiLU kept INT8; fp32 baseline the faster layout"

# ReLU6 (MobileNetV2's activation) folds into the INT8 op before it: no clamp and no extra buffer
# per call, which here meant ~700 page faults per MobileNetV2 call. The artifact runs in PyTorch.
R6="$FIXTURES/relu6_net"
expect_exit 0 -- "$MOPT" quantize "$R6.pt" -o "$WORK/r6.int8.pt" --calib "$R6.input.npy" --no-latency --report "$WORK/r6.json"
expect_stdout "5 ReLU6 folded into the INT8 op before it"
py "
import json, numpy as np, torch
q=json.load(open('$WORK/r6.json'))['details']['quantization']; assert q['relu6_folded']==5 and q['boundaries']['quantize']==1, q
m=torch.jit.load('$WORK/r6.int8.pt'); assert 'quantized::conv2d_relu' in str(m.graph), m.graph
x=torch.from_numpy(np.load('$R6.input.npy')); y=torch.from_numpy(np.load('$R6.output.npy'))
assert torch.nn.functional.cosine_similarity(m(x).flatten(), y.flatten(), 0)>0.999" \
  "ReLU6 folded into quantized ops"

# A branch mopt cannot resolve (stochastic depth switched by an attribute of its own): exit 1 with
# what failed, where in the code, which layer and what to do; never LibTorch's graph dump.
AB="$FIXTURES/attribute_branch"
expect_exit 1 -- "$MOPT" quantize "$AB.pt" -o "$WORK/ab.pt" --calib "$AB.input.npy" --iterations 5 --report "$WORK/ab.json"
expect_stderr "quantization failed while inserting observers: branches for \`if\` should return values that are observed consistently"
expect_stderr "(at torchvision/ops/stochastic_depth.py:32) in layer block\."
expect_stderr "self.training"
grep -q -E "prim::If|%[0-9]+ :|Exception raised from|<--- HERE" "$WORK/err" && fail "raw LibTorch text: $(head -c 400 "$WORK/err")"
[ -e "$WORK/ab.pt" ] && fail "a failed quantization wrote the artifact"
validate_report "$WORK/ab.json"
grep -q '"verdict": "error"' "$WORK/ab.json" || fail "error verdict missing"

# Data that does not fit the model is invalid input (exit 4), checked before any work.
expect_exit 4 -- "$MOPT" quantize "$FIXTURES/mlp.pt" -o "$WORK/x.pt" --calib "$SD.input.npy"
expect_stderr "does not run on the --calib data (a sample of shape \[1, 3, 32, 32\])"
expect_exit 4 -- "$MOPT" quantize "$FIXTURES/mlp.pt" -o "$WORK/x.pt" --calib "$SD.input.npy" --eval-data "$FIXTURES/mlp.input.npy"
expect_stderr "does not run on the calibration data"
grep -q "Traceback\|<--- HERE" "$WORK/err" && fail "raw TorchScript traceback for bad calibration data"
[ -e "$WORK/x.pt" ] && fail "partial output"

# Usage and input errors.
expect_exit 2 -- "$MOPT" quantize "$CNN" -o "$WORK/x.pt" --calibrator bogus --calib "$FMNIST"
expect_stderr "entropy"
expect_exit 2 -- "$MOPT" quantize "$CNN" -o "$WORK/x.pt" --eval-data "$FMNIST"
expect_stderr "calib"
expect_exit 2 -- "$MOPT" quantize "$CNN" -o "$WORK/x.pt" --calib "$FMNIST" --skip 'nope*'
expect_stderr "matches no quantizable layer"
expect_exit 2 -- "$MOPT" quantize "$CNN" -o "$WORK/x.pt" --calib "$FMNIST" --require-speedup --no-latency
expect_stderr "cannot run with --no-latency"
expect_exit 4 -- "$MOPT" quantize "$FIXTURES/bad/truncated.pt" -o "$WORK/x.pt" --calib "$FMNIST"
[ -e "$WORK/x.pt" ] && fail "partial output"
finish
