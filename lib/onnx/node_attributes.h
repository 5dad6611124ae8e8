#pragma once
// Reading a node's attributes with the ONNX defaults (shared by the ONNX passes and quantizers).
#include <onnx/onnx_pb.h>

#include <string>

namespace mopt {

/// The attribute called `name`, or nullptr.
inline const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

/// An INT attribute, or `fallback` when absent.
inline int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  auto* a = find_attribute(node, name);
  return a ? a->i() : fallback;
}

/// A FLOAT attribute, or `fallback` when absent.
inline double float_attribute(const onnx::NodeProto& node, const std::string& name, double fallback) {
  auto* a = find_attribute(node, name);
  return a ? a->f() : fallback;
}

}  // namespace mopt
