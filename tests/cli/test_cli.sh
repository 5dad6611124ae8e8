# Top-level CLI: help, version, passes, exit codes for bad flags.
source "$(dirname "$0")/lib.sh"
expect_exit 0 -- "$MOPT" --help
expect_stdout "inspect"; expect_stdout "optimize"; expect_stdout "Exit codes"; expect_stdout "Examples"
expect_exit 0 -- "$MOPT" --version
expect_stdout "LibTorch"; expect_stdout "ONNX"; expect_stdout "protobuf"; expect_stdout "quantized engines"; expect_stdout "isa features"
expect_exit 0 -- "$MOPT" passes --report "$WORK/p.json"
for p in freeze fold-conv-bn remove-dropout optimize-for-inference optimize-for-mobile quantize-dynamic eliminate-dead-code eliminate-identity eliminate-dead-nodes fold-constants fuse-conv-bn; do
  expect_stdout "^$p "
done
validate_report "$WORK/p.json"
# docs/passes.md is generated: it must match what this binary registers.
expect_exit 0 -- "$MOPT" passes --format markdown
diff -u "$SOURCE_DIR/docs/passes.md" "$WORK/out" >"$WORK/passes.diff" ||
  fail "docs/passes.md is stale: regenerate it with \`mopt passes --format markdown > docs/passes.md\`: $(head -c 600 "$WORK/passes.diff")"
grep -q '^| `channels-last` | torchscript | .*LibTorch only' "$WORK/out" || fail "markdown table lacks channels-last as LibTorch-only"
expect_exit 2 -- "$MOPT" passes --format html
expect_exit 2 -- "$MOPT" frobnicate
expect_exit 2 -- "$MOPT" inspect
expect_exit 2 -- "$MOPT" inspect "$FIXTURES/mlp.pt" --threads -1
expect_exit 2 -- "$MOPT" inspect "$FIXTURES/mlp.pt" --engine fbgemm9
expect_exit 0 -- "$MOPT" inspect "$FIXTURES/mlp.pt" --threads 1 --engine qnnpack --report "$WORK/e.json"
grep -q '"quantized_engine": "qnnpack"' "$WORK/e.json" || fail "engine not recorded"
grep -q '"threads": 1' "$WORK/e.json" || fail "threads not recorded"
finish
