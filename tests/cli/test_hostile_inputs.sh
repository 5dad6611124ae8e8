# Files that declare absurd sizes are refused before anything is allocated (exit 4, the file named):
# a .npy of 10^12 elements, IDX headers of 2^40 bytes (raw and .gz), a TensorProto .pb with dims
# that overflow int64, an ONNX model whose input is 2^40 elements, ONNX external data with a
# garbage offset. A profile whose compile_pipeline names an unknown pass is invalid input too.
source "$(dirname "$0")/lib.sh"
CNN="$SOURCE_DIR/tests/fixtures/fashion_cnn.pt"
/usr/bin/python3 - "$WORK" <<'PY' || fail "could not write the hostile files"
import gzip, struct, sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
w = sys.argv[1]
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
header += " " * (118 - len(header)) + "\n"
open(f"{w}/huge.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64)
idx = bytes([0, 0, 0x0D, 3]) + struct.pack(">3I", 65536, 65536, 256) + b"\0" * 64
open(f"{w}/huge-idx3-ubyte", "wb").write(idx)
open(f"{w}/huge-idx3-ubyte.gz", "wb").write(gzip.compress(idx, mtime=0))
t = TensorProto(data_type=TensorProto.FLOAT, dims=[2**32, 2**32], raw_data=b"")
open(f"{w}/overflow.pb", "wb").write(t.SerializeToString())
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2**20, 2**20])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2**20, 2**20])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{w}/huge_input.onnx")
w0 = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
w0.ClearField("raw_data")
w0.data_location = TensorProto.EXTERNAL
for k, v in [("location", "weights.bin"), ("offset", "12abc")]:
    w0.external_data.add(key=k, value=v)
open(f"{w}/weights.bin", "wb").write(b"\0" * 16)
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w0])
open(f"{w}/bad_offset.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
PY

for data in huge.npy huge-idx3-ubyte huge-idx3-ubyte.gz overflow.pb; do
  expect_exit 4 -- "$MOPT" bench "$CNN" --data "$WORK/$data" --iterations 2
  expect_stderr "$data"
  grep -qi "bad_alloc\|can't allocate\|Exception raised from" "$WORK/err" && fail "$data reached an allocation: $(head -c 300 "$WORK/err")"
done
expect_exit 4 -- "$MOPT" bench "$WORK/huge_input.onnx" --runtime libtorch --iterations 2
expect_stderr "huge_input.onnx"
expect_stderr "too large to feed"
expect_exit 4 -- "$MOPT" inspect "$WORK/bad_offset.onnx"
expect_stderr "bad_offset.onnx"
expect_stderr "expected a non-negative integer"
# An unknown pass in a profile file is that file's fault; in -p it is the user's flag.
expect_exit 4 -- "$MOPT" compile "$CNN" --profile "$SOURCE_DIR/tests/fixtures/profiles/unknown-pass.json" \
  -o "$WORK/c.pt" --input-shape 1x1x28x28
[ -e "$WORK/c.pt" ] && fail "compile wrote output from an invalid profile"
expect_stderr "unknown-pass.json"
expect_exit 2 -- "$MOPT" compile "$CNN" --profile x86-64-avx2 -p 'freeze,frobnicate' -o "$WORK/c.pt" --input-shape 1x1x28x28
finish
