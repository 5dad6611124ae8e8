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
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cpu --iterations 5 --report "$WORK/cpu.json"
grep -q '"device": "cpu"' "$WORK/cpu.json" || fail "the report does not record the device"

if ! grep -q "GPU 0:" "$WORK/version"; then
  # No GPU here: every way of asking for one exits 2 and says why.
  for device in cuda cuda:0 cuda:1; do
    expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device $device
    expect_stderr "no GPU usable"
  done
  echo "no GPU here: the GPU measurements were not run"
else
  # On a GPU: events, copies, graph replay and memory are reported, and the outputs agree with the CPU's.
  expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cuda:99
  expect_stderr "numbered from 0"
  expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --device cuda --op-profile
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
assert m['agreement']['cosine']>0.9999 and m['agreement']['top1_agreement']>=0.99, m['agreement']
assert m['accuracy']['top1']>0.85, m['accuracy']
" || fail "GPU bench report ($graph): $(head -c 600 "$WORK/gpu.json")"
  done
fi
finish
