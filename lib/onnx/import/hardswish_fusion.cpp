// HardSwish fusion.
//
// Before (paddle2onnx and older exporters spell hardswish out):
//   a = Add(X, 3); c = Clip(a, 0, 6); m = Mul(X, c); Y = Div(m, 6)   (or Mul(m, 1/6))
// After:
//   Y = torch.hardswish(X)   (one pass over the tensor instead of four)
// Preconditions: the constants are exactly 3, 0, 6 and 6 (or 1/6 to float precision); a, c and m are
// read only inside the pattern. Math: hardswish is defined as x * relu6(x + 3) / 6.
#include <fmt/format.h>

#include <cmath>

#include "lib/onnx/import/fusions.h"

namespace mopt::onnx_import {
namespace {

// Clip(v, 0, 6): bounds as inputs (opset 11+) or attributes.
bool is_relu6(const NodeContext& c, const onnx::NodeProto& clip) {
  if (clip.input_size() >= 3) {
    return clip.input(1).size() && clip.input(2).size() && scalar_constant(c, clip.input(1)) == 0.0 && scalar_constant(c, clip.input(2)) == 6.0;
  }
  float low = -1, high = -1;
  for (const auto& attr : clip.attribute()) {
    if (attr.name() == "min") low = attr.f();
    if (attr.name() == "max") high = attr.f();
  }
  return clip.input_size() == 1 && low == 0.0f && high == 6.0f;
}

}  // namespace

bool fuse_hardswish(NodeContext& c) {
  const auto& add = c.node();
  if (!is_op(&add, "Add") || add.input_size() != 2 || c.input_elem_type(0) != onnx::TensorProto::FLOAT) return false;
  const auto& x = add.input(0);
  if (scalar_constant(c, add.input(1)) != 3.0) return false;
  auto* clip = only_reader(c, add.output(0), "Clip");
  if (!clip || !is_relu6(c, *clip)) return false;
  auto* mul = only_reader(c, clip->output(0), "Mul");
  if (!mul || !((mul->input(0) == x && mul->input(1) == clip->output(0)) ||
                (mul->input(1) == x && mul->input(0) == clip->output(0)))) {
    return false;
  }
  auto readers = c.readers_of(mul->output(0));
  if (readers.size() != 1 || readers[0]->input_size() != 2 || readers[0]->input(0) != mul->output(0)) return false;
  const auto* last = readers[0];
  const auto divisor = scalar_constant(c, last->input(1));
  const bool sixth = (is_op(last, "Div") && divisor == 6.0) ||
                     (is_op(last, "Mul") && divisor && std::abs(*divisor - 1.0 / 6.0) < 1e-7);
  if (!sixth) return false;
  auto result = c.output(0);
  c.emit(fmt::format("{} = torch.hardswish({})", result, c.input(0)));
  for (const auto* node : {clip, mul, last}) c.absorb(*node, result);
  return true;
}

}  // namespace mopt::onnx_import
