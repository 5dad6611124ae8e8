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
# Bad data is invalid input too, and nothing is written.
printf 'junk' > "$WORK/junk.npy"
expect_exit 4 -- "$MOPT" optimize "$FIXTURES/mlp.pt" -p remove-dropout -o "$WORK/out.pt" --data "$WORK/junk.npy"
[ -e "$WORK/out.pt" ] && fail "output written despite bad data"
finish
