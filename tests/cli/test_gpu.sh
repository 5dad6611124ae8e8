# --device: the CUDA half of LibTorch loads on demand. Without a GPU (CI), asking for one is a usage
# error that says why; with one (a lent GPU machine), bench measures there and agrees with the CPU.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist

expect_exit 0 -- "$MOPT" --version
cp "$WORK/out" "$WORK/version"
# The pinned LibTorch is a CUDA build: its CUDA libraries and mopt's CUDA graph bridge load even where no GPU is.
grep -Eq '^CUDA [0-9]+\.[0-9]+, cuDNN [0-9]+\.[0-9]+\.[0-9]+, CUDA graphs' "$WORK/version" || fail "--version lacks the CUDA line: $(cat "$WORK/version")"

expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device tpu
expect_stderr "expected cpu, cuda or cuda:N"
expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cpu:0
expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --cuda-graph
expect_stderr "apply to --device cuda"
# A CPU profile's pipeline is not for a GPU, nor a GPU profile's for the CPU (unless -p says what to run).
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 --device cuda -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_exit 2 -- "$MOPT" compile "$CNN" --profile datacenter-gpu --device cpu -o "$WORK/x.pt" --input-shape 1x1x28x28
expect_stderr "compiles for an NVIDIA GPU"
# With -p it is checked and timed here, but mopt's ONNX Runtime (CPU only) is no alternative for a GPU target.
expect_exit 0 -- "$MOPT" compile "$CNN" --profile datacenter-gpu --device cpu -p remove-dropout,fold-conv-bn,freeze \
  -o "$WORK/g.pt" --input-shape 1x1x28x28 --report "$WORK/gcpu.json"
! grep -q "onnxruntime_alternative" "$WORK/gcpu.json" || fail "a GPU profile's compile timed an ONNX Runtime alternative"
! grep -q "compile to ONNX instead" "$WORK/out" || fail "a GPU profile's compile suggested ONNX Runtime"
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cpu --iterations 5 --report "$WORK/cpu.json"
grep -q '"device": "cpu"' "$WORK/cpu.json" || fail "the report does not record the device"

if ! grep -q "GPU 0:" "$WORK/version"; then
  # No GPU here: every way of asking for one exits 2 and says why.
  for device in cuda cuda:0 cuda:1; do
    expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device $device
    expect_stderr "no GPU usable"
  done
  expect_exit 2 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.fp16.pt" --mode fp16 --device cuda --input-shape 1x1x28x28
  expect_stderr "no GPU usable"
  [ ! -e "$WORK/cnn.fp16.pt" ] || fail "a refused quantize wrote its output"
  expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.fp16.pt" --mode fp16 --device cuda --print-pipeline
  [ "$(cat "$WORK/out")" = "compute-fp16" ] || fail "--print-pipeline on cuda: $(cat "$WORK/out")"
  # The GPU profiles compile and bench on a GPU, and say why they cannot here.
  expect_exit 2 -- "$MOPT" compile "$CNN" --profile datacenter-gpu -o "$WORK/cnn.gpu.pt" --input-shape 1x1x28x28
  expect_stderr "profile 'datacenter-gpu' runs on an NVIDIA GPU and is checked and measured on one"
  expect_stderr "no GPU usable"
  [ ! -e "$WORK/cnn.gpu.pt" ] || fail "a refused compile wrote its output"
  expect_exit 2 -- "$MOPT" bench "$CNN" --profile jetson-orin --input-shape 1x1x28x28
  expect_stderr "profile 'jetson-orin' runs on an NVIDIA GPU"
  expect_exit 2 -- "$MOPT" optimize "$CNN" -p freeze -o "$WORK/o.pt" --input-shape 1x1x28x28 --device cuda
  expect_stderr "no GPU usable"
  # Training on a GPU (distill, prune fine-tuning) says the same before loading any data.
  expect_exit 2 -- "$MOPT" distill --teacher "$CNN" --student "$FIXTURES/fashion_student.pt" --train $FMNIST -o "$WORK/d.pt" \
    --device cuda
  expect_stderr "no GPU usable"
  expect_exit 2 -- "$MOPT" prune "$CNN" --amount 0.5 -o "$WORK/p.pt" --finetune-data $FMNIST --device cuda --input-shape 1x1x28x28
  expect_stderr "no GPU usable"
  [ ! -e "$WORK/d.pt" ] && [ ! -e "$WORK/p.pt" ] || fail "a refused training run wrote its output"
  echo "no GPU here: the GPU measurements were not run"
else
  # On a GPU: events, copies, graph replay and memory are reported, and the outputs agree with the CPU's.
  expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cuda:99
  expect_stderr "numbered from 0"
  # The op profile on a GPU: its kernels and copies, how busy it was, a trace with a track per stream.
  expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cuda --iterations 20 --op-profile \
    --trace "$WORK/gpu.trace.json" --report "$WORK/gpuprof.json"
  validate_report "$WORK/gpuprof.json"
  "$PY" -c "
import json; p=json.load(open('$WORK/gpuprof.json'))['metrics']['gpu_profile']
assert p['iterations']==20 and p['kernels'] and 0<p['gpu_busy_share']<=1 and p['launches_per_call']>=1, p
ops=[o['op'] for o in p['by_op']]; assert any(o.startswith('aten::') for o in ops), p['by_op']
t=json.load(open('$WORK/gpu.trace.json')); assert any(e['cat']=='gpu' for e in t['traceEvents'])
" || fail "GPU op profile: $(head -c 600 "$WORK/gpuprof.json")"
  for graph in "" --cuda-graph; do
    expect_exit 0 -- "$MOPT" bench "$CNN" --data $FMNIST --normalize 0.286,0.353 --samples 512 --device cuda $graph \
      --batch 1,32 --iterations 50 --reference "$CNN" --report "$WORK/gpu.json"
    validate_report "$WORK/gpu.json"
    "$PY" -c "
import json; m=json.load(open('$WORK/gpu.json'))['metrics']
assert m['runtime']['device']=='cuda:0' and m['runtime']['gpu']['name'], m['runtime']
assert m['runtime']['cuda_graph']==('$graph'!=''), m['runtime']
for r in m['rows']:
    assert r['latency']['count']==50 and r['latency']['p50_ms']>0, r
    assert r['with_copies']['latency']['p50_ms']>=r['latency']['p50_ms']*0.5, r
    assert r['memory']['gpu']['peak_allocated_mb']>0 and r['memory']['gpu']['total_mb']>1000, r
    u=r['gpu_utilization']; assert u['available'] and u['samples']>=1 and u['sm_clock_mhz']['mean']>0, u
assert [h['kind'] for h in m['gpu_hints']].count('fp32-compute')==1, m['gpu_hints']
assert m['agreement']['cosine']>0.9999 and m['agreement']['top1_agreement']>=0.99, m['agreement']
assert m['accuracy']['top1']>0.85, m['accuracy']
" || fail "GPU bench report ($graph): $(head -c 600 "$WORK/gpu.json")"
  done
  # --batch auto: sizes doubled under the GPU's memory budget, judged on the allocator's peak.
  expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cuda --batch auto --iterations 20 --report "$WORK/auto.json"
  validate_report "$WORK/auto.json"
  "$PY" -c "
import json; s=json.load(open('$WORK/auto.json'))['metrics']['batch_search']
assert len(s['tried'])>=3 and s['best_batch']>=1 and 'GPU' in s['memory_measure'], s
" || fail "GPU --batch auto: $(head -c 600 "$WORK/auto.json")"
  # fp16 compute on the GPU: half-precision constants in the file, outputs checked against fp32 there.
  for mode in fp16 bf16; do
    expect_exit 0 -- "$MOPT" quantize "$CNN" -o "$WORK/cnn.$mode.pt" --mode $mode --device cuda --eval-data $FMNIST \
      --normalize 0.286,0.353 --eval-samples 1000 --allow-slower --report "$WORK/q$mode.json"
    validate_report "$WORK/q$mode.json"
    "$PY" -c "
import json; r=json.load(open('$WORK/q$mode.json')); m=r['metrics']; q=r['details']['quantization']
assert q['device']=='cuda:0' and 'compute-$mode' in r['pipeline'], (q['device'], r['pipeline'])
assert m['device']=='cuda:0' and m['agreement']['cosine']>0.999 and m['after']['accuracy']['top1']>0.85, m
assert '--device cuda:0' in m['latency_measurement']['command'], m['latency_measurement']
" || fail "GPU quantize --mode $mode: $(head -c 600 "$WORK/q$mode.json")"
    expect_exit 0 -- "$MOPT" bench "$WORK/cnn.$mode.pt" --data $FMNIST --normalize 0.286,0.353 --samples 1000 --device cuda --iterations 20
  done
  # The data-center profile: frozen, BN folded, channels-last, fp16 compute, checked and timed on the GPU.
  expect_exit 0 -- "$MOPT" compile "$CNN" --profile datacenter-gpu -o "$WORK/cnn.gpu.pt" --data $FMNIST --normalize 0.286,0.353 \
    --samples 1000 --report "$WORK/compile.json"
  validate_report "$WORK/compile.json"
  "$PY" -c "
import json; r=json.load(open('$WORK/compile.json')); c=r['details']['compile']; m=r['metrics']
assert c['device']=='cuda:0' and 'compute-fp16' in c['kept_pipeline'], c
assert m['agreement']['cosine']>0.999 and '--device cuda:0' in m['latency_measurement']['command'], m
" || fail "compile --profile datacenter-gpu: $(head -c 600 "$WORK/compile.json")"
  expect_exit 0 -- "$MOPT" optimize "$CNN" -p 'fold-conv-bn,freeze,compute-bf16' -o "$WORK/o.pt" --input-shape 8x1x28x28 \
    --device cuda --report "$WORK/opt.json"
  grep -q '"device": "cuda:0"' "$WORK/opt.json" || fail "optimize --device cuda did not compare on the GPU"
  expect_exit 0 -- "$MOPT" bench "$WORK/cnn.gpu.pt" --profile datacenter-gpu --input-shape 1x1x28x28 --report "$WORK/pbench.json"
  grep -q '"device": "cuda' "$WORK/pbench.json" || fail "bench --profile datacenter-gpu did not measure on the GPU"
  # Mixed-precision distillation on the GPU: every precision measured against fp32, the student saved for the CPU.
  for amp in auto fp16 bf16; do
    expect_exit 0 -- "$MOPT" distill --teacher "$CNN" --student "$FIXTURES/fashion_student.pt" --train $FMNIST --val $FMNIST \
      --normalize 0.286,0.353 --train-samples 4000 --val-samples 1000 --recipe fixed --epochs 2 --batch-size 128 --device cuda \
      --amp $amp -o "$WORK/d.$amp.pt" --report "$WORK/d$amp.json"
    validate_report "$WORK/d$amp.json"
    "$PY" -c "
import json, torch; m=json.load(open('$WORK/d$amp.json'))['metrics']; p=m['training']['precision']
assert p['amp']=='$amp' and 'fp32' in p['measured_samples_per_s'] and p['speedup_vs_fp32']>0, p
assert '$amp'=='auto' or p['precision']=='$amp', p
assert m['student']['accuracy_after']>0.7, m['student']
assert all(t.device.type=='cpu' for t in torch.jit.load('$WORK/d.$amp.pt').parameters())
" || fail "distill --device cuda --amp $amp: $(head -c 600 "$WORK/d$amp.json")"
  done
fi
finish
