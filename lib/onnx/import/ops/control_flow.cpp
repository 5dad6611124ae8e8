// If (opsets 1-21): a TorchScript `if` whose blocks are the then/else graphs, converted like the
// main graph; they read values of the enclosing graph by name, as ONNX scopes them. Both blocks
// assign every If output, so the outputs exist after the statement.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

void convert_if(NodeContext& c) {
  const auto* then_branch = c.attribute("then_branch");
  const auto* else_branch = c.attribute("else_branch");
  c.require(then_branch && then_branch->has_g() && else_branch && else_branch->has_g(), "If without both branch graphs");
  std::vector<std::string> targets;
  for (int i = 0; i < c.output_count(); ++i) targets.push_back(c.output(i));
  c.emit(fmt::format("if bool({}):", c.input(0)));
  c.convert_branch(then_branch->g(), targets);
  c.emit("else:");
  c.convert_branch(else_branch->g(), targets);
}

}  // namespace

std::vector<ConverterEntry> control_flow_converters() {
  return {
      {"", "If", 1, kMaxOpset, convert_if},
  };
}

}  // namespace mopt::onnx_import
