// ONNX element types LibTorch holds but barely computes on (uint16/32/64, computed in int64 by the
// importer) or does not hold at all (strings, Tuple[List[str], List[int]] in the imported module),
// against values worked out by hand as NumPy gives them.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "lib/errors.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/onnx/onnx_tensors.h"
#include "tests/unit/onnx_test_builder.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::testing;
using namespace mopt::test;
using onnx::TensorProto;

namespace {

c10::IValue run(const ImportedOnnx& imported, std::vector<c10::IValue> inputs) {
  torch::NoGradGuard no_grad;
  auto module = imported.module;
  return module.forward(std::move(inputs));
}

c10::IValue strings(const std::vector<std::string>& values, const std::vector<int64_t>& shape) {
  c10::List<std::string> list;
  for (const auto& value : values) list.push_back(value);
  return c10::ivalue::Tuple::create({list, c10::List<int64_t>(shape)});
}

std::vector<std::string> strings_of(const c10::IValue& value) {
  std::vector<std::string> out;
  for (const auto& item : value.toTupleRef().elements()[0].toListRef()) out.push_back(item.toStringRef());
  return out;
}

std::vector<int64_t> shape_of(const c10::IValue& value) { return value.toTupleRef().elements()[1].toIntVector(); }

// `f` fails as invalid input (exit 4) with a message holding `fragment`.
template <typename F>
void expect_invalid(F&& f, const std::string& fragment) {
  CHECK(thrown_code(f) == static_cast<int>(ExitCode::kInvalidInput));
  CHECK(contains(thrown_message(f), fragment));
}

}  // namespace

TEST_SUITE("onnx_import") {
  TEST_CASE("uint16/32/64: results wrap around as the unsigned type's, and come out in that type") {
    for (const int32_t type : {TensorProto::UINT16, TensorProto::UINT32, TensorProto::UINT64}) {
      CAPTURE(type);
      const auto dtype = *torch_dtype(type);
      const uint64_t max = type == TensorProto::UINT16 ? 65535u : type == TensorProto::UINT32 ? 4294967295u : ~uint64_t{0};
      // y = (a + b) and z = a - b, w = BitwiseNot(a), g = a > b
      OnnxGraphBuilder b(18);
      b.input("a", {3}, type).input("b", {3}, type);
      b.output("y", {3}, type).output("z", {3}, type).output("w", {3}, type).output("g", {3}, TensorProto::BOOL);
      b.node("Add", {"a", "b"}, {"y"});
      b.node("Sub", {"a", "b"}, {"z"});
      b.node("BitwiseNot", {"a"}, {"w"});
      b.node("Greater", {"a", "b"}, {"g"});
      auto imported = import_onnx(b.build());
      // a = [max, 5, 0], b = [1, 7, 0]: max + 1 wraps to 0, 5 - 7 to max - 1.
      auto wide = [&](std::vector<uint64_t> values) {
        std::vector<int64_t> bits(values.begin(), values.end());
        return torch::tensor(bits).to(dtype);
      };
      auto a = wide({max, 5, 0}), bb = wide({1, 7, 0});
      auto outputs = run(imported, {a, bb}).toTupleRef().elements();
      for (int k = 0; k < 3; ++k) CHECK((outputs[k].toTensor().scalar_type() == dtype));
      CHECK(torch::equal(outputs[0].toTensor().to(torch::kLong), wide({0, 12, 0}).to(torch::kLong)));
      CHECK(torch::equal(outputs[1].toTensor().to(torch::kLong), wide({max - 1, max - 1, 0}).to(torch::kLong)));
      CHECK(torch::equal(outputs[2].toTensor().to(torch::kLong), wide({0, max - 5, max}).to(torch::kLong)));
      if (type != TensorProto::UINT64) {  // uint64 from 2^63 up compares as negative (compute_dtype says so)
        CHECK(torch::equal(outputs[3].toTensor(), torch::tensor({true, false, false})));
      }
    }
  }

  TEST_CASE("BitShift on uint64: a right shift is logical, also from 2^63 up") {
    OnnxGraphBuilder b(11);
    b.input("x", {3}, TensorProto::UINT64).input("s", {3}, TensorProto::UINT64).output("y", {3}, TensorProto::UINT64);
    set_attr_string(b.node("BitShift", {"x", "s"}, {"y"}), "direction", "RIGHT");
    auto imported = import_onnx(b.build());
    const auto top = std::numeric_limits<int64_t>::min();  // the bits of 2^63
    auto x = torch::tensor(std::vector<int64_t>{top, top, 16}).to(torch::kUInt64);
    auto s = torch::tensor(std::vector<int64_t>{63, 0, 2}).to(torch::kUInt64);
    auto y = run(imported, {x, s}).toTensor();
    CHECK((y.scalar_type() == torch::kUInt64));
    CHECK(torch::equal(y.to(torch::kLong), torch::tensor(std::vector<int64_t>{1, top, 4})));
  }

  TEST_CASE("string tensors: Equal and StringConcat broadcast, StringSplit pads, RegexFullMatch matches whole strings") {
    OnnxGraphBuilder b(20);
    b.input("x", {2, 1}, TensorProto::STRING).input("y", {2}, TensorProto::STRING);
    b.output("equal", {2, 2}, TensorProto::BOOL).output("joined", {2, 2}, TensorProto::STRING);
    b.output("parts", {2, 1, -1}, TensorProto::STRING).output("counts", {2, 1}, TensorProto::INT64);
    b.output("match", {2, 1}, TensorProto::BOOL);
    b.node("Equal", {"x", "y"}, {"equal"});
    b.node("StringConcat", {"x", "y"}, {"joined"});
    set_attr(b.node("StringSplit", {"x"}, {"parts", "counts"}), "maxsplit", 1);
    set_attr_string(b.node("RegexFullMatch", {"x"}, {"match"}), "pattern", R"(\w+ \w+.*)");
    auto model = b.build();
    auto* dim = model.mutable_graph()->mutable_output(2)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2);
    dim->clear_dim_value();
    dim->set_dim_param("parts");
    auto imported = import_onnx(model);
    auto outputs = run(imported, {strings({" a  b c", "abc"}, {2, 1}), strings({"abc", "d"}, {2})}).toTupleRef().elements();
    CHECK(torch::equal(outputs[0].toTensor(), torch::tensor({false, false, true, false}).view({2, 2})));
    const std::vector<std::string> joined = {" a  b cabc", " a  b cd", "abcabc", "abcd"};
    CHECK(strings_of(outputs[1]) == joined);
    CHECK(shape_of(outputs[1]) == std::vector<int64_t>({2, 2}));
    // Python's " a  b c".split(None, 1): ['a', 'b c']; "abc": ['abc'], padded with "".
    const std::vector<std::string> parts = {"a", "b c", "abc", ""};
    CHECK(strings_of(outputs[2]) == parts);
    CHECK(shape_of(outputs[2]) == std::vector<int64_t>({2, 1, 2}));
    CHECK(torch::equal(outputs[3].toTensor(), torch::tensor({2L, 1L}).view({2, 1})));
    CHECK(torch::equal(outputs[4].toTensor(), torch::tensor({false, false}).view({2, 1})));
    CHECK(torch::equal(run(imported, {strings({"a b", "ab"}, {2, 1}), strings({"", ""}, {2})}).toTupleRef().elements()[4].toTensor(),
                       torch::tensor({true, false}).view({2, 1})));
  }

  TEST_CASE("RegexFullMatch runs in linear time: no backtracking blow-up, no stack overflow on a long text") {
    // std::regex needs 2^n steps for (a|a)*b on n a's and overflows the stack on a* over 200,000 of them.
    for (const std::string pattern : {"(a|a)*b", "a*"}) {
      CAPTURE(pattern);
      OnnxGraphBuilder b(20);
      b.input("x", {1}, TensorProto::STRING).output("y", {1}, TensorProto::BOOL);
      set_attr_string(b.node("RegexFullMatch", {"x"}, {"y"}), "pattern", pattern);
      auto y = run(import_onnx(b.build()), {strings({std::string(200000, 'a')}, {1})}).toTensor();
      CHECK(y.item<bool>() == (pattern == "a*"));
    }
    OnnxGraphBuilder b(20);
    b.input("x", {1}, TensorProto::STRING).output("y", {1}, TensorProto::BOOL);
    set_attr_string(b.node("RegexFullMatch", {"x"}, {"y"}), "pattern", "(unclosed");
    expect_invalid([&] { import_onnx(b.build()); }, "is not an RE2 regular expression");
  }

  TEST_CASE("an op other than the string ops given a string tensor is refused by name, with exit 4") {
    OnnxGraphBuilder b(20);
    b.input("x", {2}, TensorProto::STRING).output("y", {2}, TensorProto::STRING);
    b.node("Reshape", {"x", "shape"}, {"y"});
    auto model = b.build();
    *model.mutable_graph()->add_initializer() = torch_to_tensor(torch::tensor({2L}), "shape");
    expect_invalid([&] { import_onnx(model); }, "Reshape on string tensors");
  }

  TEST_CASE("mopt's commands, which feed numeric inputs, say so for a model with a string input (exit 4)") {
    OnnxGraphBuilder b(20);
    b.input("text", {2}, TensorProto::STRING).input("n", {2}, TensorProto::UINT32);
    b.output("y", {2}, TensorProto::STRING);
    b.node("Identity", {"text"}, {"y"});
    expect_invalid([&] { graph_input_spec(b.build()); }, "input 'text' is a string tensor");
  }
}
