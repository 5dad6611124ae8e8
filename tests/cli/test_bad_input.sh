# Every bad model input exits 4 with a clear message, no crash and no partial output.
source "$(dirname "$0")/lib.sh"

for bad in bad/truncated.pt bad/random.onnx bad/empty.pt bad/notamodel.pt does-not-exist.pt escape/model.onnx; do
  expect_exit 4 -- "$MOPT" inspect "$FIXTURES/$bad"
  expect_stderr "mopt: error:"
  grep -q "Exception raised from" "$WORK/err" && fail "raw LibTorch trace for $bad"
  expect_exit 4 -- "$MOPT" optimize "$FIXTURES/$bad" -p eliminate-dead-code -o "$WORK/out.pt" --report "$WORK/bad.json"
  [ -e "$WORK/out.pt" ] && fail "partial output left for $bad"
  validate_report "$WORK/bad.json"
  grep -q '"verdict": "error"' "$WORK/bad.json" || fail "error verdict missing for $bad"
done
expect_exit 4 -- "$MOPT" inspect "$FIXTURES/escape/model.onnx"
expect_stderr "outside its folder"
expect_exit 4 -- "$MOPT" inspect "$FIXTURES/bad/empty.pt"
expect_stderr "is empty"
# A TorchScript archive whose code/*.py is corrupt: a syntax error (the parser throws a plain
# std::runtime_error), an undefined name in forward (torch::jit::ErrorReport) and one in a helper
# function of another member. Invalid input (exit 4) naming the file and line, never LibTorch's
# source excerpt, and no output.
corrupt_code() {  # corrupt_code SRC DST MEMBER_SUFFIX OLD NEW: rewrites one code member of the zip
  /usr/bin/python3 - "$@" <<'PY' || fail "could not corrupt $1"
import sys, zipfile
src, dst, member, old, new = sys.argv[1:]
zin = zipfile.ZipFile(src)
hits = 0
with zipfile.ZipFile(dst, "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith(member):
            text = data.decode()
            hits += text.count(old)
            data = text.replace(old, new, 1).encode()
        zout.writestr(info, data)
assert hits, f"{member} has no {old!r}"
PY
}
corrupt_code "$FIXTURES/mlp.pt" "$WORK/syntax.pt" /code/__torch__.py "def forward(" "def forward((( \$\$ "
corrupt_code "$FIXTURES/mlp.pt" "$WORK/undefined.pt" /code/__torch__.py "forward(x1, )" "forward(undefined_xyz, )"
corrupt_code "$FIXTURES/mlp.pt" "$WORK/helper.pt" /code/__torch__/torch/nn/functional.py "torch.relu(input)" \
  "torch.relu(nothing_here)"
for bad in syntax undefined helper; do
  expect_exit 4 -- "$MOPT" inspect "$WORK/$bad.pt"
  expect_stderr "is not a valid TorchScript model: its code does not compile"
  expect_stderr "re-export it"
  grep -q "<--- HERE" "$WORK/err" && fail "LibTorch's source excerpt shown for $bad.pt"
  expect_exit 4 -- "$MOPT" optimize "$WORK/$bad.pt" -p eliminate-dead-code -o "$WORK/out.pt" --report "$WORK/bad.json"
  [ -e "$WORK/out.pt" ] && fail "partial output left for $bad.pt"
  validate_report "$WORK/bad.json"
  grep -q '"verdict": "error"' "$WORK/bad.json" || fail "error verdict missing for $bad.pt"
  expect_exit 4 -- "$MOPT" quantize "$WORK/$bad.pt" -o "$WORK/out.pt" --mode dynamic --eval-data "$FIXTURES/mlp.input.npy"
  [ -e "$WORK/out.pt" ] && fail "quantize left output for $bad.pt"
done
expect_exit 4 -- "$MOPT" inspect "$WORK/syntax.pt"
expect_stderr "code/__torch__.py, line 13"
expect_exit 4 -- "$MOPT" inspect "$WORK/undefined.pt"
expect_stderr "undefined value undefined_xyz (code/__torch__.py, line 26)"
expect_exit 4 -- "$MOPT" inspect "$WORK/helper.pt"
expect_stderr "code/__torch__/torch/nn/functional.py, line 6"
# The untouched fixture still loads: the check is not a blanket rejection.
expect_exit 0 -- "$MOPT" inspect "$FIXTURES/mlp.pt"
# Bad data is invalid input too, and nothing is written.
printf 'junk' > "$WORK/junk.npy"
expect_exit 4 -- "$MOPT" optimize "$FIXTURES/mlp.pt" -p remove-dropout -o "$WORK/out.pt" --data "$WORK/junk.npy"
[ -e "$WORK/out.pt" ] && fail "output written despite bad data"
finish
