# mopt quantize model.onnx (or model.pt, exported first) -o model.int8.onnx: QDQ that ONNX Runtime fuses into INT8 kernels,
# calibrated through the importer, measured in ONNX Runtime against the fp32 input; bad
# calibration data and unavailable modes fail cleanly with no partial file.
source "$(dirname "$0")/lib.sh"
ONNX="$FIXTURES/fashion_cnn.onnx"
FMNIST=/usr/share/datasets/fashion-mnist
py() { "$PY" -c "$1" || fail "$2"; }

if [ -d "$SOURCE_DIR/lib/runtime/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
  cp "$ONNX" "$WORK/in.onnx"; before=$(sha256sum < "$WORK/in.onnx")
  expect_exit 0 -- "$MOPT" quantize "$WORK/in.onnx" -o "$WORK/int8.onnx" --calib "$FMNIST" --calib-samples 128 \
    --eval-data "$FMNIST" --eval-samples 2000 --normalize 0.2860,0.3530 --threads 1 --iterations 10 --allow-slower \
    --no-speed-fallback --report "$WORK/q.json"
  validate_report "$WORK/q.json"
  [ "$(sha256sum < "$WORK/in.onnx")" = "$before" ] || fail "the input model was modified"
  expect_stdout "2 of 2 Conv run as INT8 kernels; 0 left fp32"
  py "
import json; r=json.load(open('$WORK/q.json')); q=r['details']['quantization']; m=r['metrics']
f=q['onnxruntime_fusion']['ops']
assert f['Conv']=={'int8':2,'fp32':0} and f['Gemm']=={'int8':2,'fp32':0}, f
assert q['quantized_nodes']=={'Conv':2,'Gemm':2}, q['quantized_nodes']
assert q['calibration']['samples']==128 and q['calibration']['peak_rss_mb']>0, q['calibration']
acts=q['activations']; assert len(acts)==5 and all(a['sqnr_db']>25 and a['range'][0]<=0 for a in acts), acts
assert m['runtime']=={'before':'onnxruntime','after':'onnxruntime'}, m['runtime']
drop=m['before']['accuracy']['top1']-m['after']['accuracy']['top1']
assert drop < 0.01 and m['agreement']['cosine'] > 0.999, (drop, m['agreement'])
assert 'speed_fallback' not in q" "QDQ report: fused kernels, accuracy"
  # The speed fallback: both files profiled in ORT; only the first Conv (the one node reading the
  # input) may be named, only when its INT8 kernel ran slower; kept in fp32 only if the whole file
  # then measured faster. Which way it goes is a timing; the report must agree with itself either way.
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/edge.onnx" --calib "$FMNIST" --calib-samples 64 \
    --normalize 0.2860,0.3530 --threads 1 --iterations 10 --allow-slower --report "$WORK/edge.json"
  py "
import json, onnx; q=json.load(open('$WORK/edge.json'))['details']['quantization']; s=q['speed_fallback']
first=[n for n in onnx.load('$ONNX').graph.node if n.op_type=='Conv'][0]; first=first.name or first.output[0]
assert s['profiled_calls']==20, s
assert all(r['node']==first and r['int8_us']>1.1*r['fp32_us'] and r['int8_us']-r['fp32_us']>=10 for r in s['slower_in_int8']), s
kept=[n['node'] for n in q['fp32_nodes'] if n['reason']=='slower in INT8 (ONNX Runtime op profile)']
assert ('p50_ms' in s)==bool(s['slower_in_int8']), s
assert kept==([first] if s.get('adopted') else []), (kept, s)
assert q['quantized_nodes']['Conv']==(1 if kept else 2), q['quantized_nodes']" "speed fallback report"
  # The printed pipeline (clean-up, then quantize-static) makes the same QDQ file in `mopt optimize`.
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/never.onnx" --calibrator entropy --calib-batch 16 --print-pipeline
  pipeline=$(cat "$WORK/out")
  case "$pipeline" in *",quantize-static{calibrator=entropy calib-batch=16 per-channel=true}") ;; *) fail "printed pipeline: $pipeline" ;; esac
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/preset.onnx" --calib "$FMNIST" --calib-samples 128 --calib-batch 16 \
    --calibrator entropy --normalize 0.2860,0.3530 --no-latency
  expect_exit 0 -- "$MOPT" optimize "$ONNX" -p "$pipeline" --calib "$FMNIST" --calib-samples 128 --normalize 0.2860,0.3530 \
    -o "$WORK/piped.onnx"
  py "
import onnx, numpy as np
from onnx import numpy_helper as nh
a=onnx.load('$WORK/preset.onnx').graph; b=onnx.load('$WORK/piped.onnx').graph
assert [n.op_type for n in a.node]==[n.op_type for n in b.node] and 'QuantizeLinear' in [n.op_type for n in a.node]
ia={t.name: nh.to_array(t) for t in a.initializer}; ib={t.name: nh.to_array(t) for t in b.initializer}
assert ia.keys()==ib.keys() and all(np.array_equal(ia[k], ib[k]) for k in ia)" "optimize -p <printed pipeline> = quantize (QDQ)"
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/never.onnx" --mode dynamic --print-pipeline
  case "$(cat "$WORK/out")" in *",quantize-dynamic{per-channel=true}") ;; *) fail "dynamic pipeline: $(cat "$WORK/out")" ;; esac
  # Every calibrator keeps the trained CNN's accuracy (entropy clipped the normalized image's bright
  # pixels, and post-ReLU zeros pulled its thresholds down: 87% where fp32 scores 91%).
  for calibrator in entropy percentile mse; do
    expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/$calibrator.onnx" --calib "$FMNIST" --calib-samples 512 \
      --calibrator "$calibrator" --eval-data "$FMNIST" --eval-samples 2000 --normalize 0.2860,0.3530 --no-latency \
      --report "$WORK/$calibrator.json"
    py "
import json; r=json.load(open('$WORK/$calibrator.json')); m=r['metrics']; check=r['details']['quantization']['calibrator_check']
drop=m['before']['accuracy']['top1']-m['after']['accuracy']['top1']
assert drop <= 0.003, ('$calibrator', drop)
assert 'warning' not in check and len(check['output_sqnr_db'])==5 and check['samples']==16, check" \
      "$calibrator calibration keeps the CNN's accuracy within 0.3 pt, and the calibrator check finds no better one"
  done
  # A calibrator that clips what matters (the 95th percentile) collapses the output; the check says
  # which calibrator did better, and the file is still written (it is a warning).
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/p95.onnx" --calib "$FMNIST" --calib-samples 256 --calibrator percentile \
    --percentile 95 --eval-data "$FMNIST" --eval-samples 500 --normalize 0.2860,0.3530 --no-latency --report "$WORK/p95.json"
  expect_stdout "WARNING: the percentile calibrator's QDQ model reaches an output SQNR of"
  py "
import json; check=json.load(open('$WORK/p95.json'))['details']['quantization']['calibrator_check']; s=check['output_sqnr_db']
assert check['best'] != 'percentile' and s[check['best']] - s['percentile'] >= 3 and 'try --calibrator '+check['best'] in check['warning'], check" \
    "the calibrator check names the better calibrator"
  # Accuracy target: met at once -> one trial, gate passed; unreachable -> the most sensitive nodes
  # return to fp32 one per trial (each executed in ORT), then exit 3 with nothing written.
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/target.onnx" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
    --eval-samples 300 --normalize 0.2860,0.3530 --max-accuracy-drop 5 --no-latency --report "$WORK/target.json"
  py "
import json; r=json.load(open('$WORK/target.json')); q=r['details']['quantization']
assert len(q['trials'])==1 and q['trials'][0]['chosen'] and q['target_met'], q['trials']
assert [g['passed'] for g in r['gates']]==[True], r['gates']" "a met accuracy target takes one trial"
  expect_exit 3 -- "$MOPT" quantize "$ONNX" -o "$WORK/fallback.onnx" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
    --eval-samples 300 --normalize 0.2860,0.3530 --min-sqnr 90 --max-trials 3 --no-latency --report "$WORK/fallback.json"
  [ -e "$WORK/fallback.onnx" ] && fail "a model was written although the accuracy target was not met"
  expect_stderr "returning node"
  py "
import json; r=json.load(open('$WORK/fallback.json')); q=r['details']['quantization']; t=q['trials']
assert [len(x['fp32_layers']) for x in t]==[0,1,2] and not any(x['meets_target'] for x in t), t
assert t[1]['fp32_layers'][0]==t[2]['fp32_layers'][0] and len(set(t[2]['fp32_layers']))==2, t
assert r['verdict']=='fail' and not q['target_met'], r['verdict']
assert sorted(s['node'] for s in q['fp32_nodes'] if s['reason'].startswith('accuracy fallback'))==sorted(t[2]['fp32_layers'])" \
    "ONNX accuracy fallback trials"
  expect_exit 2 -- "$MOPT" quantize "$ONNX" -o "$WORK/nolabels.onnx" --calib "$FMNIST" --calib-samples 64 --normalize 0.2860,0.3530 \
    --max-accuracy-drop 1
  expect_stderr "needs --eval-data with labels"
  # The file is plain ONNX with int8 weights: smaller, and mopt bench runs it in ONNX Runtime.
  py "
import os; a=os.path.getsize('$ONNX'); b=os.path.getsize('$WORK/int8.onnx'); assert b < a/3, (a, b)" "INT8 file is ~4x smaller"
  expect_exit 0 -- "$MOPT" bench "$WORK/int8.onnx" --data "$FMNIST" --normalize 0.2860,0.3530 --samples 500 --iterations 10 \
    --reference "$ONNX"
  expect_stdout "runtime: onnxruntime"
  # --skip keeps a node in fp32, and ORT then runs it in fp32.
  expect_exit 0 -- "$MOPT" quantize "$ONNX" -o "$WORK/skip.onnx" --calib "$FMNIST" --calib-samples 64 --normalize 0.2860,0.3530 \
    --skip '*Gemm*' --no-latency --report "$WORK/skip.json"
  py "
import json; q=json.load(open('$WORK/skip.json'))['details']['quantization']
assert q['quantized_nodes']=={'Conv':2}, q['quantized_nodes']
assert [s['reason'] for s in q['fp32_nodes']]==['--skip','--skip'], q['fp32_nodes']
assert q['onnxruntime_fusion']['ops']['Gemm']['fp32']==2, q['onnxruntime_fusion']" "--skip leaves Gemm in fp32"
  expect_stdout "kept in fp32"
  # Dynamic INT8 of the transformer: every MatMul/Gemm with a constant weight becomes an ORT INT8
  # kernel; the activation-by-activation attention MatMuls stay fp32 and are listed.
  T="$FIXTURES/onnx_import/transformer.onnx"
  expect_exit 0 -- "$MOPT" quantize "$T" --mode dynamic -o "$WORK/t.onnx" --eval-data "$FIXTURES/onnx_import/transformer.input.npy" \
    --no-latency --report "$WORK/t.json"
  validate_report "$WORK/t.json"
  py "
import json; r=json.load(open('$WORK/t.json')); q=r['details']['quantization']
assert q['mode']=='dynamic' and q['quantized_nodes']=={'MatMul':8}, q['quantized_nodes']
assert q['onnxruntime_fusion']['ops']['MatMul']=={'int8':8,'fp32':4}, q['onnxruntime_fusion']
assert len(q['fp32_nodes'])==4 and r['metrics']['agreement']['cosine']>0.999, (q['fp32_nodes'], r['metrics']['agreement'])" \
    "dynamic INT8 of the transformer"
  # Dynamic INT8 of the 2-layer LSTM: both become ORT's DynamicQuantizeLSTM; the file runs in mopt bench.
  L="$FIXTURES/onnx_import/lstm.onnx"
  expect_exit 0 -- "$MOPT" quantize "$L" --mode dynamic -o "$WORK/lstm.onnx" --eval-data "$FIXTURES/onnx_import/lstm.input.npy" \
    --no-latency --report "$WORK/l.json"
  validate_report "$WORK/l.json"
  expect_stdout "2 of 2 LSTM run as INT8 kernels; 0 left fp32"
  py "
import json; r=json.load(open('$WORK/l.json')); q=r['details']['quantization']
assert q['quantized_nodes']=={'LSTM':2} and q['onnxruntime_fusion']['ops']['LSTM']=={'int8':2,'fp32':0}, q
assert r['metrics']['agreement']['cosine']>0.999, r['metrics']['agreement']" "dynamic INT8 of the LSTM"
  expect_exit 0 -- "$MOPT" bench "$WORK/lstm.onnx" --data "$FIXTURES/onnx_import/lstm.input.npy" --iterations 5
  # The bi-GRU has no INT8 kernel in ORT: nothing to quantize, said so (exit 4), nothing written.
  expect_exit 4 -- "$MOPT" quantize "$FIXTURES/onnx_import/gru.onnx" --mode dynamic -o "$WORK/gru.onnx" \
    --eval-data "$FIXTURES/onnx_import/gru.input.npy"
  expect_stderr "no LSTM"
  [ -e "$WORK/gru.onnx" ] && fail "a file was written for the GRU"
  # Layers that all sit in If branches (Silero VAD branches on its sample rate): exit 4 says so.
  py "
import onnx, numpy as np; from onnx import helper as h, numpy_helper as nh, TensorProto as T
def branch(name):
    w = nh.from_array(np.ones((4, 3), 'float32'), name + '_w')
    return h.make_graph([h.make_node('MatMul', ['x', name + '_w'], [name + '_y'])], name, [],
                        [h.make_tensor_value_info(name + '_y', T.FLOAT, [1, 3])], [w])
nodes = [h.make_node('Equal', ['sr', 'rate'], ['is_16k']),
         h.make_node('If', ['is_16k'], ['y'], then_branch=branch('k16'), else_branch=branch('k8'))]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 4]), h.make_tensor_value_info('sr', T.INT64, [])],
                 [h.make_tensor_value_info('y', T.FLOAT, [1, 3])], [nh.from_array(np.array(16000, 'int64'), 'rate')])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 17)], ir_version=8), '$WORK/branchy.onnx')" "writing the If model"
  expect_exit 4 -- "$MOPT" quantize "$WORK/branchy.onnx" --mode dynamic -o "$WORK/branchy.q.onnx"
  expect_stderr "2 Conv/Gemm/MatMul/LSTM/GRU node(s) sit inside If/Loop bodies"
  # The CNN's two Gemms are its only MatMul-like nodes: dynamic INT8 takes them, the convs stay fp32.
  expect_exit 0 -- "$MOPT" quantize "$ONNX" --mode dynamic -o "$WORK/cnn_dyn.onnx" --eval-data "$FMNIST" --eval-samples 200 \
    --normalize 0.2860,0.3530 --no-latency --report "$WORK/cd.json"
  py "
import json; q=json.load(open('$WORK/cd.json'))['details']['quantization']
assert q['onnxruntime_fusion']['ops']['MatMul']['int8']==2 and q['onnxruntime_fusion']['ops']['Conv']['int8']==0, q" \
    "dynamic INT8 of the CNN's Gemms"
  # A TorchScript input is exported to fp32 ONNX first; the INT8 file is measured against that export.
  CNN_PT="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
  expect_exit 0 -- "$MOPT" quantize "$CNN_PT" -o "$WORK/from_pt.onnx" --calib "$FMNIST" --calib-samples 64 --eval-data "$FMNIST" \
    --eval-samples 300 --normalize 0.2860,0.3530 --threads 1 --no-latency --report "$WORK/from_pt.json"
  validate_report "$WORK/from_pt.json"
  expect_stderr "exported to fp32 ONNX"
  expect_stdout "2 of 2 Conv run as INT8 kernels; 0 left fp32"
  py "
import json; r=json.load(open('$WORK/from_pt.json')); q=r['details']['quantization']; m=r['metrics']
assert q['exported_fp32']['opset']==21 and q['exported_fp32']['nodes']>0, q['exported_fp32']
assert q['onnxruntime_fusion']['ops']['Gemm']=={'int8':2,'fp32':0}, q['onnxruntime_fusion']
assert m['runtime']=={'before':'onnxruntime','after':'onnxruntime'} and m['agreement']['cosine']>0.999, m
assert m['after']['accuracy']['top1']>0.8, m['after']['accuracy']" "TorchScript in, QDQ ONNX out"
  expect_exit 0 -- "$MOPT" bench "$WORK/from_pt.onnx" --data "$FMNIST" --normalize 0.2860,0.3530 --samples 300 --iterations 5 \
    --reference "$CNN_PT"
  expect_stdout "runtime: onnxruntime"
  # SiLU and squeeze-excite gates: each Sigmoid gets its Q/DQ and ONNX Runtime runs it as
  # QLinearSigmoid; the report counts it with the INT8 kernels, not as an op kind left in fp32.
  SE="$FIXTURES/silu_se"
  expect_exit 0 -- "$MOPT" quantize "$SE.pt" -o "$WORK/se.onnx" --calib "$SE.input.npy" --no-latency --report "$WORK/se.json"
  expect_stdout "of [0-9]* Sigmoid run as INT8 kernels; 0 left fp32"
  py "
import json; r=json.load(open('$WORK/se.json')); q=r['details']['quantization']; m=r['metrics']
n=q['quantized_nodes']['Sigmoid']; assert n>=3 and q['onnxruntime_fusion']['ops']['Sigmoid']=={'int8':n,'fp32':0}, q['onnxruntime_fusion']
assert 'Sigmoid' not in q.get('fp32_op_types', {}), q.get('fp32_op_types')
assert m['agreement']['cosine']>0.99, m['agreement']" "Sigmoid run as INT8 in ONNX Runtime"
fi

# A LibTorch static INT8 file exports as QDQ (quantize_per_tensor -> QuantizeLinear, quantized::
# conv2d_relu/linear(_relu) -> DQ -> Conv/Gemm -> Q with int8 weights and int32 biases): ORT runs it
# with its INT8 kernels, with LibTorch INT8's accuracy and outputs within a quantization step.
expect_exit 0 -- "$MOPT" quantize "$SOURCE_DIR/tests/fixtures/fashion_cnn.pt" -o "$WORK/lt.int8.pt" --calib "$FMNIST" \
  --calib-samples 64 --normalize 0.2860,0.3530 --no-latency --quiet
expect_exit 0 -- "$MOPT" optimize "$WORK/lt.int8.pt" -o "$WORK/lt.int8.onnx" --data "$FMNIST" --samples 300 \
  --normalize 0.2860,0.3530 --no-latency --report "$WORK/lt.json"
validate_report "$WORK/lt.json"
expect_exit 0 -- "$MOPT" bench "$WORK/lt.int8.onnx" --input-shape 1x1x28x28 --iterations 10 --threads 1 --op-profile \
  --report "$WORK/lt-ort.json"
py "
import json, onnx
m=json.load(open('$WORK/lt.json'))['metrics']
assert m['runtime']=={'before':'libtorch','after':'onnxruntime'}, m['runtime']
assert abs(m['before']['accuracy']['top1']-m['after']['accuracy']['top1'])<=0.005, (m['before']['accuracy'], m['after']['accuracy'])
assert m['agreement']['cosine']>0.9995 and m['agreement']['top1_agreement']>=0.99, m['agreement']
ops={o['op'] for o in json.load(open('$WORK/lt-ort.json'))['metrics']['op_profile']['ops']}
assert 'QLinearConv' in ops and 'QGemm' in ops and 'Conv' not in ops and 'Gemm' not in ops, ops
p=onnx.load('$WORK/lt.int8.onnx'); onnx.checker.check_model(p, full_check=True)
types={n.op_type for n in p.graph.node}
assert {'QuantizeLinear','DequantizeLinear','Conv','Gemm'}<=types, types
w=[i for i in p.graph.initializer if i.name.startswith('weight_int8') and i.data_type==onnx.TensorProto.INT8]; b=[i for i in p.graph.initializer if i.name.startswith('bias_int32') and i.data_type==onnx.TensorProto.INT32]
assert len(w)==4 and len(b)==4, (len(w), len(b))" "LibTorch INT8 exported as QDQ that ORT fuses"
# LibTorch dynamic INT8 (quantized::linear_dynamic) exports as ORT's dynamic pattern
# (DynamicQuantizeLinear + MatMulInteger), which ORT fuses; accuracy within half a point.
expect_exit 0 -- "$MOPT" quantize "$SOURCE_DIR/tests/fixtures/fashion_cnn.pt" -o "$WORK/lt.dyn.pt" --mode dynamic \
  --eval-data "$FMNIST" --eval-samples 32 --normalize 0.2860,0.3530 --no-latency --quiet
expect_exit 0 -- "$MOPT" optimize "$WORK/lt.dyn.pt" -o "$WORK/lt.dyn.onnx" --data "$FMNIST" --samples 300 \
  --normalize 0.2860,0.3530 --no-latency --report "$WORK/lt-dyn.json"
py "
import json, onnx
m=json.load(open('$WORK/lt-dyn.json'))['metrics']
assert abs(m['before']['accuracy']['top1']-m['after']['accuracy']['top1'])<=0.005, (m['before']['accuracy'], m['after']['accuracy'])
assert m['agreement']['cosine']>0.999 and m['agreement']['top1_agreement']>=0.98, m['agreement']
types=[n.op_type for n in onnx.load('$WORK/lt.dyn.onnx').graph.node]
assert types.count('MatMulInteger')==2 and types.count('DynamicQuantizeLinear')==2, types" "LibTorch dynamic INT8 exported"

# Bad calibration data: wrong shape, NaN only, empty -> exit 4, nothing written.
/usr/bin/python3 -c "
import numpy as np
np.save('$WORK/wrong.npy', np.zeros((4, 3, 5, 5), np.float32))
np.save('$WORK/nan.npy', np.full((4, 1, 28, 28), np.nan, np.float32))
np.save('$WORK/empty.npy', np.zeros((0, 1, 28, 28), np.float32))"
for bad in wrong nan empty; do
  expect_exit 4 -- "$MOPT" quantize "$ONNX" -o "$WORK/bad_$bad.onnx" --calib "$WORK/$bad.npy"
  [ -e "$WORK/bad_$bad.onnx" ] && fail "a partial file was left for $bad calibration data"
done
expect_exit 2 -- "$MOPT" quantize "$ONNX" -o "$WORK/fp16.onnx" --mode fp16 --eval-data "$WORK/nan.npy"
expect_stderr "not available for ONNX output yet"
expect_exit 2 -- "$MOPT" quantize "$ONNX" -o "$WORK/x.onnx"
expect_stderr "needs --calib"
finish
