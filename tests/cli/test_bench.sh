# mopt bench: sweep rows, accuracy on the Fashion-MNIST fixture, gates, baselines, compare, bad data.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
py() { "$PY" -c "$1" || fail "$2"; }

# Sweep: one row per batch x threads, settings and stop rule recorded.
expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --batch 1,4 --threads 1,2 --iterations 20 --report "$WORK/sweep.json"
validate_report "$WORK/sweep.json"
py "
import json; m=json.load(open('$WORK/sweep.json'))['metrics']; rows=m['rows']
assert len(rows)==4, len(rows)
assert sorted((r['batch'],r['threads']) for r in rows)==[(1,1),(1,2),(4,1),(4,2)]
r=rows[0]; l=r['latency']
assert l['count']==20 and r['stopped_by']=='iterations' and r['stop_rule']=='iterations=20', r
assert l['min_ms']<=l['p50_ms']<=l['p95_ms']<=l['max_ms'] and l['p50_ci95_ms'][0]<=l['p50_ms']<=l['p50_ci95_ms'][1]
assert r['work']['macs']==784*256+256*128+128*10, r['work']
assert [x['work']['macs'] for x in rows if x['batch']==4]==[4*(784*256+256*128+128*10)]*2
assert r['memory']['peak_mb']>0 and m['cold_start']['load_ms']>0 and m['model']['parameters']==235146" "sweep report content"

# Accuracy on the real test split equals the accuracy recorded when the fixture was trained.
expect_exit 0 -- "$MOPT" bench "$CNN" --data "$FMNIST" --normalize 0.2860,0.3530 --iterations 10 --report "$WORK/acc.json" \
  --fail-if 'accuracy.top1 < 0.85' --fail-if 'latency.p50_ms > 10000' --junit "$WORK/pass.xml"
expect_stdout "top-1 90.39%"
py "
import json; m=json.load(open('$WORK/acc.json'))['metrics']; rec=json.load(open('$SOURCE_DIR/tests/fixtures/fashion_cnn.json'))
assert abs(m['accuracy']['top1']-rec['test_accuracy'])<1e-4, (m['accuracy'], rec['test_accuracy'])
assert m['accuracy']['samples']==10000 and m['accuracy']['top5']>=m['accuracy']['top1']" "accuracy matches the recorded one"
grep -q 'failures="0"' "$WORK/pass.xml" || fail "junit should have no failures"

# A failing gate: exit 3, verdict fail, JUnit failure, report still written.
expect_exit 3 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --iterations 10 --fail-if 'latency.p50_ms > 0' --report "$WORK/fail.json" --junit "$WORK/fail.xml"
validate_report "$WORK/fail.json"
grep -q '"verdict": "fail"' "$WORK/fail.json" || fail "verdict should be fail"
grep -q '<failure' "$WORK/fail.xml" || fail "junit should hold a failure"
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --iterations 5 --fail-if 'latency.p42_ms > 1'
expect_stderr "p50_ms"
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --iterations 5 --fail-if 'latency.p50_ms >> 1'

# Baselines: comparing a model with itself is noise, not a regression.
# One thread: ctest runs tests in parallel, and two-thread pools on a shared 2-core machine can
# swing by orders of magnitude; the point here is the mechanism, not the figure.
expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --iterations 50 --threads 1 --baseline "$WORK/sweep.json" \
  --max-regression latency.p50_ms=1000% --report "$WORK/base.json"
expect_exit 0 -- "$MOPT" bench compare "$WORK/sweep.json" "$WORK/base.json"
expect_stdout "p50_ms"
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --max-regression latency.p50_ms=5%

# Reference agreement: an optimized model against its original.
expect_exit 0 -- "$MOPT" optimize "$FIXTURES/conv_bn.pt" -p freeze,fold-conv-bn -o "$WORK/opt.pt"
expect_exit 0 -- "$MOPT" bench "$WORK/opt.pt" --reference "$FIXTURES/conv_bn.pt" --data "$FIXTURES/conv_bn.input.npy" --iterations 5 --report "$WORK/ref.json"
py "
import json; g=json.load(open('$WORK/ref.json'))['metrics']['agreement']
assert g['cosine']>0.9999 and g['top1_agreement']==1.0 and g['sqnr_db']>60, g" "reference agreement"

# Bad input: wrong shape and wrong label count exit 4; ONNX is refused with a usage error.
/usr/bin/python3 -c "import numpy as np; np.save('$WORK/wrong.npy', np.zeros((5,3),np.float32)); np.save('$WORK/labels.npy', np.zeros(7,np.int64)); np.save('$WORK/x.npy', np.zeros((5,1,28,28),np.float32))"
expect_exit 4 -- "$MOPT" bench "$CNN" --data "$WORK/wrong.npy" --iterations 5
expect_stderr "shape"
expect_exit 4 -- "$MOPT" bench "$CNN" --data "$WORK/x.npy" --labels "$WORK/labels.npy" --iterations 5
expect_stderr "labels.npy"
# ONNX models run in ONNX Runtime (tests/cli/test_onnxruntime.sh) or imported (test_onnx_import.sh); the report
# still describes the input file as ONNX.
expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.onnx" --input-shape x:4x784 --batch 4 --iterations 5 --report "$WORK/onnx.json"
/usr/bin/python3 -c "import json; r=json.load(open('$WORK/onnx.json')); assert r['inputs'][0]['format']=='onnx', r['inputs']" \
  || fail "an ONNX input is reported as onnx"
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.pt" --iterations 5
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape x:1x784 --iterations 5 --min-time 1
# --keep-samples: every timed sample in the report (what fresh-process comparisons pool).
expect_exit 0 -- "$MOPT" bench "$FIXTURES/mlp.pt" --input-shape 1x784 --iterations 7 --warmup 1 --keep-samples --report "$WORK/ks.json"
/usr/bin/python3 -c "
import json; row=json.load(open('$WORK/ks.json'))['metrics']['rows'][0]
assert len(row['samples_ms'])==7 and row['latency']['count']==7 and min(row['samples_ms'])==row['latency']['min_ms'], row" \
  || fail "--keep-samples"

# --batch auto: batches 1, 2, 4, ... each a measured row, until throughput stops rising or the next size would
# not fit under --max-memory; the best one is reported. (The search's rules: tests/unit/test_batch_search.cpp.)
expect_exit 0 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --batch auto --threads 1 --iterations 5 --warmup 1 \
  --report "$WORK/auto.json"
validate_report "$WORK/auto.json"
expect_stdout "batch auto: best throughput at batch"
py "
import json; r=json.load(open('$WORK/auto.json')); m=r['metrics']; s=m['batch_search']
tried=[t['batch'] for t in s['tried']]
assert tried==[2**i for i in range(len(tried))] and len(tried)>=3, tried
assert [row['batch'] for row in m['rows']]==tried, (m['rows'], tried)
assert all(t['fits'] for t in s['tried']) and s['budget_mb']>1000 and s['memory_measure']=='the process\'s peak RSS', s
best=max(s['tried'], key=lambda t: t['samples_per_s']); assert s['best_batch']==best['batch'], s
assert 'throughput stopped rising' in s['stopped_by'], s
assert r['details']['settings']['batches']=='auto' and r['details']['settings']['max_memory']=='0.9'
assert [g['passed'] for g in r['gates'] if g['name']=='batch auto']==[True], r['gates']" "--batch auto report"
# Nothing fits: batch 1 is measured, the gate fails (exit 3).
expect_exit 3 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --batch auto --max-memory 1MB --iterations 3 --report "$WORK/auto_over.json"
expect_stdout "no batch fits"
expect_stderr "batch auto"
py "
import json; s=json.load(open('$WORK/auto_over.json'))['metrics']['batch_search']
assert [t['batch'] for t in s['tried']]==[1] and not s['tried'][0]['fits'] and s['best_batch']==0 and s['budget_mb']==1, s
assert 'over the budget of 1 MB' in s['stopped_by'], s" "--batch auto over the budget"
for args in "--batch 0" "--batch 2,x" "--batch auto --max-memory 2" "--batch auto --max-memory 90%" "--batch 4 --max-memory 0.5" \
            "--batch auto --threads 1,2" "--batch auto --duration 1"; do
  # shellcheck disable=SC2086
  expect_exit 2 -- "$MOPT" bench "$CNN" --input-shape 1x1x28x28 --iterations 3 $args
done
expect_exit 2 -- "$MOPT" bench "$FIXTURES/mlp.onnx" --batch auto --iterations 3  # in ONNX Runtime: test_onnxruntime.sh
expect_stderr "fixed batch of 4"

# Multi-input models (token ids and mask) in every command: tests/cli/test_multi_input.sh.
finish
