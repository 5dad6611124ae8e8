# mopt prune: channel pruning that really shrinks (fashion CNN with fine-tuning, ResNet-18 with
# residual adds, kept counts rounded to multiples from --round-to or the profile), global magnitude and 2:4 sparsity counted in PyTorch, gradual pruning, per-layer
# amounts, the accuracy gate, and bad input (exit codes, no partial artifact).
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
FMNIST=/usr/share/datasets/fashion-mnist
data=(--normalize 0.2860,0.3530 --eval-data "$FMNIST" --eval-samples 1000 --threads 1 --no-latency)
py() { "$PY" -c "$1" || fail "$2"; }

# Channel pruning at 50% + a short fine-tune against the original's soft targets.
expect_exit 0 -- "$MOPT" prune "$CNN" -o "$WORK/cnn.pruned.pt" --method channel --amount 0.5 "${data[@]}" \
  --finetune-data "$FMNIST" --finetune-samples 3000 --epochs 1 --teacher "$CNN" --report "$WORK/c.json"
validate_report "$WORK/c.json"
expect_stdout "MACs per sample"
py "
import json; r=json.load(open('$WORK/c.json')); m=r['metrics']; p=r['details']['pruning']
assert m['totals']['parameter_ratio']<0.3 and m['totals']['mac_ratio']<0.3, m['totals']
assert m['totals']['after']['bytes']<0.3*m['totals']['before']['bytes'], m['totals']
conv=[l for l in p['layers'] if l['layer']=='features.0'][0]
assert conv['shape_before']==[32,1,3,3] and conv['shape_after']==[16,1,3,3], conv
assert any(not g['pruned'] and 'output' in g['skipped_reason'] for g in p['groups']), p['groups']
assert m['after']['accuracy']['top1']>0.8, m['after']
assert len(p['finetune']['epochs'])==1 and 'kd' in p['finetune']['epochs'][0]['train_loss'], p['finetune']" "channel report"
py "
import torch; m=torch.jit.load('$WORK/cnn.pruned.pt'); assert not m.training
assert m(torch.randn(2,1,28,28)).shape==(2,10)
assert sum(p.numel() for p in m.parameters())==105962, sum(p.numel() for p in m.parameters())" "pruned CNN loads in PyTorch"

# ResNet-18 (residual adds): 30% of the channels, output shape unchanged, smaller; kept counts are
# multiples of 8 by default (30% of 64 asks 45 and keeps 48; the last stage keeps 424 of 512, see below).
expect_exit 0 -- "$MOPT" prune "$FIXTURES/resnet18.pt" -o "$WORK/r18.pt" --method channel --amount 0.3 --norm l2 \
  --input-shape 1x3x224x224 --threads 1 --no-latency --report "$WORK/r.json"
expect_stdout "round-to 8 (default)"
expect_stdout "48 (45)"
py "
import torch, json
m=torch.jit.load('$WORK/r18.pt'); assert m(torch.randn(1,3,224,224)).shape==(1,1000)
n=sum(p.numel() for p in m.parameters()); assert n<0.65*11689512, n
s=m.state_dict(); assert s['layer1.0.conv2.weight'].shape[0]==s['conv1.weight'].shape[0]==48, s['conv1.weight'].shape
assert s['layer4.1.conv2.weight'].shape[0]==424, s['layer4.1.conv2.weight'].shape
p=json.load(open('$WORK/r.json'))['details']['pruning']
assert p['round_to']==8 and p['round_to_source']=='default', p
assert all(g['channels_after']%8==0 for g in p['groups'] if g['pruned']), p['groups']" "pruned ResNet-18"

# The device profile sets the multiple: 16 on AVX-512, so 256 channels keep 176 where 30% asks 180
# (issue 14 measured a conv at 8.0 ms with 359 channels, 1.7 ms with 352, 2 threads). The last stage
# keeps 432 of 512, not 352: at 352x7x7 = 17248 input values LibTorch 1.13 runs a batch-1 3x3
# convolution on its slow im2col path (oneDNN only above 20480; 432x7x7 = 21168). Counted in PyTorch.
expect_exit 0 -- "$MOPT" prune "$FIXTURES/resnet18.pt" -o "$WORK/r18.avx512.pt" --method channel --amount 0.3 \
  --profile x86-64-avx512-vnni --input-shape 1x3x224x224 --threads 1 --no-latency --report "$WORK/r16.json"
validate_report "$WORK/r16.json"
expect_stdout "round-to 16 (from profile x86-64-avx512-vnni)"
expect_stdout "176 (180)"
expect_stdout "432 (359)"
expect_stdout "rounded to multiples of 16"
expect_stdout "3 group(s) keep more channels than that, so that the convolutions reading them stay in oneDNN"
py "
import torch, json
m=torch.jit.load('$WORK/r18.avx512.pt'); assert m(torch.randn(1,3,224,224)).shape==(1,1000)
s=m.state_dict()
convs={k: v.shape[0] for k, v in s.items() if k.endswith('weight') and v.dim()==4}
assert all(c%16==0 for c in convs.values()), convs
assert convs['conv1.weight']==48 and convs['layer3.1.conv2.weight']==176, convs
assert convs['layer4.0.conv1.weight']==convs['layer4.1.conv2.weight']==432 and s['fc.weight'].shape==(1000,432), convs
p=json.load(open('$WORK/r16.json'))['details']['pruning']
assert p['round_to']==16 and p['round_to_source']=='profile' and p['profile']=='x86-64-avx512-vnni', p
l4=[g for g in p['groups'] if 'layer4.1.conv2' in g['producers']][0]
assert (l4['channels_before'], l4['channels_requested'], l4['channels_after'], l4['raised_for_onednn'])==(512, 359, 432, True), l4
l3=[g for g in p['groups'] if 'layer3.1.conv2' in g['producers']][0]
assert (l3['channels_after'], l3['raised_for_onednn'])==(176, False), l3
row=[l for l in p['layers'] if l['layer']=='layer4.1.conv1'][0]
assert row['channels_requested']==359 and row['channels_kept']==432, row
assert not any('slow im2col path' in n for n in p['notes']), p['notes']
" "rounded to 16 by the profile, raised where LibTorch would leave oneDNN"

# --round-to overrides the profile; 1 turns rounding off (the amount's exact count), and prune
# names the convolutions that LibTorch then runs on its slow path.
expect_exit 0 -- "$MOPT" prune "$FIXTURES/resnet18.pt" -o "$WORK/r18.exact.pt" --method channel --amount 0.3 \
  --profile x86-64-avx512-vnni --round-to 1 --input-shape 1x3x224x224 --threads 1 --no-latency --report "$WORK/r1.json"
expect_stdout "3 convolution(s) of the pruned model run LibTorch's slow im2col path at batch 1"
expect_stdout "layer4.1.conv1 (input 1x359x7x7)"
py "
import torch, json
s=torch.jit.load('$WORK/r18.exact.pt').state_dict()
assert s['conv1.weight'].shape[0]==45 and s['layer4.1.conv2.weight'].shape[0]==359, s['conv1.weight'].shape
p=json.load(open('$WORK/r1.json'))['details']['pruning']; assert p['round_to']==1 and p['round_to_source']=='flag', p
assert not any(g['raised_for_onednn'] for g in p['groups']), p['groups']
assert any('layer4.0.conv2 (input 1x359x7x7)' in n for n in p['notes']), p['notes']" \
  "--round-to 1 keeps the exact counts"

# Global magnitude at 0.5: 50% +- 0.5% zeros across the pruned layers, counted in PyTorch.
expect_exit 0 -- "$MOPT" prune "$FIXTURES/mlp.pt" -o "$WORK/mlp.sparse.pt" --amount 0.5 --global \
  --eval-data "$FIXTURES/mlp.input.npy" --no-latency --report "$WORK/g.json"
expect_stdout "does not speed up dense kernels: .* the same work is done (latency not measured)"
expect_stdout "latency p50 (ms, b=1) *not measured (--no-latency)"
py "
import torch; s=torch.jit.load('$WORK/mlp.sparse.pt').state_dict()
w=[s[k] for k in ('fc1.weight','fc2.weight','fc3.weight')]
z=sum((t==0).sum().item() for t in w)/sum(t.numel() for t in w); assert abs(z-0.5)<=0.005, z" "global sparsity 50%"
py "
import json; r=json.load(open('$WORK/g.json')); t=r['metrics']['totals']
assert t['after']['gzip_bytes']<0.8*t['before']['gzip_bytes'], t
m=r['metrics']; assert 'speedup_p50' not in m and 'latency' not in m['after'] and m['agreement']['cosine']>0.9, m" \
  "sparsity shows in the gzip size"

# 2:4 semi-structured: at least 2 zeros in every 4 consecutive input weights.
expect_exit 0 -- "$MOPT" prune "$FIXTURES/mlp.pt" -o "$WORK/mlp.24.pt" --method 2:4 --input-shape 1x784 --no-latency
expect_stdout "sparse tensor cores"
py "
import torch; s=torch.jit.load('$WORK/mlp.24.pt').state_dict()
for k in ('fc1.weight','fc2.weight','fc3.weight'):
    g=s[k].reshape(s[k].shape[0],-1,4); assert ((g==0).sum(-1)>=2).all(), k" "2:4 pattern"

# Per-layer amounts from a file, and gradual (cubic) pruning while fine-tuning.
echo '{"fc1": 0.3, "fc2": 0.6}' > "$WORK/amounts.json"
expect_exit 0 -- "$MOPT" prune "$FIXTURES/mlp.pt" -o "$WORK/mlp.layers.pt" --amounts "$WORK/amounts.json" --input-shape 1x784 \
  --no-latency
py "
import torch; s=torch.jit.load('$WORK/mlp.layers.pt').state_dict()
z=lambda k: (s[k]==0).float().mean().item()
assert abs(z('fc1.weight')-0.3)<0.001 and abs(z('fc2.weight')-0.6)<0.001 and z('fc3.weight')<0.01" "per-layer amounts"
expect_exit 0 -- "$MOPT" prune "$CNN" -o "$WORK/cnn.gradual.pt" --amount 0.8 --schedule cubic --steps 5 "${data[@]}" \
  --finetune-data "$FMNIST" --finetune-samples 2000 --epochs 2 --amp bf16 --report "$WORK/s.json"
py "
import json, torch
f=json.load(open('$WORK/s.json'))['details']['pruning']['finetune']
assert f['precision']=='bf16' and f['precision_choice']['measured_samples_per_s']['fp32']>0, f
s=torch.jit.load('$WORK/cnn.gradual.pt').state_dict()
w=[s[k] for k in ('features.0.weight','features.4.weight','classifier.2.weight','classifier.5.weight')]
for t in w: assert abs((t==0).float().mean().item()-0.8)<0.01, (t==0).float().mean()" "gradual pruning (bf16 fine-tuning) reaches 80%"

# The accuracy gate: 95% of the weights gone cannot stay within 0.1 points: exit 3, no artifact.
expect_exit 3 -- "$MOPT" prune "$CNN" -o "$WORK/gate.pt" --amount 0.95 "${data[@]}" --max-accuracy-drop 0.1
[ ! -e "$WORK/gate.pt" ] || fail "a failed gate wrote the artifact"

# Bad input: clear message, exit 2, nothing written.
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad1.pt" --amount 0 "${data[@]}"
expect_stderr "amount"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad2.pt" --amount 1.5 "${data[@]}"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad3.pt" --method 2:4 "${data[@]}"
expect_stderr "features.0"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad4.pt" --include 'nothing.*' "${data[@]}"
expect_stderr "nothing"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad5.pt" --method bogus "${data[@]}"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad6.pt" --schedule cubic "${data[@]}"
expect_stderr "finetune-data"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad13.pt" --amp bf16 "${data[@]}"
expect_stderr "apply to fine-tuning"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad7.pt"
expect_stderr "eval-data"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad9.pt" --round-to 8 "${data[@]}"
expect_stderr "round-to applies to --method channel"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad10.pt" --method channel --round-to 0 "${data[@]}"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$WORK/bad11.pt" --method channel --profile no-such-board "${data[@]}"
expect_stderr "unknown profile"
expect_exit 4 -- "$MOPT" prune "$CNN" -o "$WORK/bad12.pt" --method channel --profile "$WORK/missing.json" "${data[@]}"
expect_exit 2 -- "$MOPT" prune "$CNN" -o "$CNN" "${data[@]}"
expect_exit 0 -- "$MOPT" optimize "$CNN" -p freeze -o "$WORK/frozen.pt"
expect_exit 4 -- "$MOPT" prune "$WORK/frozen.pt" -o "$WORK/bad8.pt" "${data[@]}"
expect_stderr "frozen"
for f in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 bad9 bad10 bad11 bad12 bad13; do [ ! -e "$WORK/$f.pt" ] || fail "$f.pt written by a failed run"; done
expect_exit 0 -- "$MOPT" prune --help
expect_stdout "Examples:"
expect_stdout "round-to"
# .onnx output: pruned, exported, timed in ONNX Runtime against the input in LibTorch.
expect_exit 0 -- "$MOPT" prune "$CNN" --method channel --amount 0.3 -o "$WORK/pruned.onnx" --input-shape 1x1x28x28 \
  --iterations 10 --report "$WORK/po.json"
expect_stdout "before in libtorch, after in onnxruntime"
validate_report "$WORK/po.json"
/usr/bin/python3 -c "
import json, onnx; r=json.load(open('$WORK/po.json')); m=r['metrics']
assert m['runtime']=={'before': 'libtorch', 'after': 'onnxruntime'} and m['after']['latency']['count']==10, m
assert m['agreement']['cosine']>0.5, m['agreement']  # 30% of the channels are gone: close, not equal
assert m['totals']['after']['onnx_bytes']>0 and m['totals']['parameter_ratio']<0.7, m['totals']
assert r['outputs'][0]['format']=='onnx', r['outputs']
onnx.checker.check_model(onnx.load('$WORK/pruned.onnx'), full_check=True)" || fail "prune to .onnx"

finish
