# mopt optimize: pipelines, measurement on real data, output formats, usage errors.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
before=$(sha256sum "$CNN")

expect_exit 0 -- "$MOPT" optimize "$CNN" -p 'remove-dropout,fold-conv-bn,freeze' -o "$WORK/cnn.pt" \
  --data /usr/share/datasets/fashion-mnist --normalize 0.2860,0.3530 --samples 2000 --iterations 20 --report "$WORK/r.json"
expect_stdout "accuracy (top-1)"
validate_report "$WORK/r.json"
/usr/bin/python3 -c "
import json; r=json.load(open('$WORK/r.json')); m=r['metrics']
assert r['pipeline']=='remove-dropout,fold-conv-bn,freeze', r['pipeline']
assert [p['name'] for p in r['passes']]==['remove-dropout','fold-conv-bn','freeze']
assert r['passes'][0]['rewrites']==2 and r['passes'][1]['rewrites']==2 and r['passes'][2]['rewrites']>0, r['passes']
assert abs(m['before']['accuracy']['top1']-m['after']['accuracy']['top1'])<1e-3 and m['before']['accuracy']['top1']>0.85, m
# Two fresh processes per file (10 timed calls each), up to two more while either file's disagree by
# over 10%: each one's p50, and how far apart they were.
rounds = m['latency_measurement']['rounds']
assert m['before']['latency']['count']==10*rounds and m['speedup_p50']>0, m
spread = lambda p50s: max(p50s)/min(p50s)
unsteady_after = lambda k: any(spread(m[s]['process_p50_ms'][:k]) > 1.10 for s in ('before', 'after'))
assert 2 <= rounds <= 4 and m['latency_measurement']['extra_rounds']==rounds-2, m['latency_measurement']
assert all(unsteady_after(k) for k in range(2, rounds)) and (rounds==4 or not unsteady_after(rounds)), m
for side in (m['before'], m['after']):
    p50s = side['process_p50_ms']
    assert len(p50s)==rounds and min(p50s)>0 and abs(side['process_spread']-spread(p50s))<1e-9, side
unsteady = [s for s in ('before', 'after') if m[s]['process_spread'] > 1.10]
said = open('$WORK/out').read()
assert ('the processes disagreed by over 10%' in said) == bool(unsteady), (unsteady, said)
assert ('of them because the first 2 disagreed' in said) == (rounds > 2), said
assert all(f'{s} {min(m[s][\"process_p50_ms\"]):.3f}-' in said for s in unsteady), said
assert m['before']['page_faults_per_call']>=0 and m['after']['page_faults_per_call']>=0, m
assert m['allocator_check']['status'] in ('not needed', 'skipped'), m['allocator_check']  # a 28x28 CNN maps little per call
assert m['allocator_check']['status']=='skipped' or m['allocator_check']['reason']=='under 1 MB mapped afresh per call', m
assert m['agreement']['cosine']>0.9999 and m['samples']==2000, m
assert r['outputs'][0]['sha256'] and r['outputs'][0]['format']=='torchscript'" || fail "optimize report content"
[ "$before" = "$(sha256sum "$CNN")" ] || fail "input model was modified"

# Lite output and ONNX pipelines.
expect_exit 0 -- "$MOPT" optimize "$FIXTURES/conv_bn.pt" -p freeze -o "$WORK/m.ptl" --report "$WORK/l.json"
grep -q '"torchscript-lite"' "$WORK/l.json" || fail "lite format not reported"
expect_exit 0 -- "$MOPT" optimize "$FIXTURES/conv_bn_hand.onnx" -p 'fuse-conv-bn,eliminate-dead-nodes' -o "$WORK/f.onnx"
expect_exit 0 -- "$MOPT" inspect "$WORK/f.onnx"
grep -q BatchNormalization "$WORK/out" && fail "fuse-conv-bn left a BatchNormalization"

# --print-pipeline shows the canonical form.
expect_exit 0 -- "$MOPT" optimize "$CNN" -p ' freeze , fold-constants{max-size=10}' --print-pipeline
expect_exit 2 -- "$MOPT" optimize "$CNN" -p 'freeze' --print-pipeline -o x.pt -p y 2>/dev/null
expect_exit 0 -- "$MOPT" optimize "$FIXTURES/mlp.onnx" -p ' fold-constants{max-size=10} ,eliminate-identity' --print-pipeline
expect_stdout "^fold-constants{max-size=10},eliminate-identity$"

# Usage errors: exit 2, valid names listed, nothing written.
expect_exit 2 -- "$MOPT" optimize "$CNN" -p 'freeze,fuze-conv-bn' -o "$WORK/x.pt"
expect_stderr "valid passes"
expect_exit 2 -- "$MOPT" optimize "$CNN" -p 'freeze{bogus=1}' -o "$WORK/x.pt"
expect_stderr "optimize-numerics"
expect_exit 2 -- "$MOPT" optimize "$CNN" -p 'fuse-conv-bn' -o "$WORK/x.pt"
expect_stderr "does not support torchscript"
expect_exit 2 -- "$MOPT" optimize "$CNN" -p 'freeze{' -o "$WORK/x.pt"
cp "$CNN" "$WORK/in.pt"
expect_exit 2 -- "$MOPT" optimize "$WORK/in.pt" -p freeze -o "$WORK/in.pt"
expect_stderr "--force"
[ -e "$WORK/x.pt" ] && fail "output written on a usage error"
finish
