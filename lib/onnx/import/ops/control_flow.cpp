// If (opsets 1-21): a TorchScript `if` whose blocks are the then/else graphs, converted like the
// main graph; they read values of the enclosing graph by name, as ONNX scopes them. Both blocks
// assign every If output, so the outputs exist after the statement.
// Loop (opsets 1-21): a TorchScript `while` over the body graph. The loop-carried values are the
// node's outputs, set to their initial values before the loop and reassigned from the body's
// outputs after each pass (through temporaries, so a body that swaps two of them reads the old
// values); scan outputs are appended to lists and stacked along a new first axis afterwards.
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

void convert_loop(NodeContext& c) {
  const auto* body_attribute = c.attribute("body");
  c.require(body_attribute && body_attribute->has_g(), "Loop without a body graph");
  const auto& body = body_attribute->g();
  const int carried = c.input_count() - 2;
  const int scans = body.output_size() - 1 - carried;
  c.require(carried >= 0 && scans >= 0 && body.input_size() == carried + 2 && c.output_count() <= carried + scans,
            "a Loop whose body's inputs and outputs do not match its loop-carried values");
  const auto trip = c.temp(), keep_going = c.temp(), iteration = c.temp();
  c.emit(fmt::format("{} = {}", trip, c.has_input(0) ? fmt::format("int({})", c.input(0)) : "9223372036854775807"));
  c.emit(fmt::format("{} = {}", keep_going, c.has_input(1) ? fmt::format("bool({})", c.input(1)) : "True"));
  c.emit(fmt::format("{} = 0", iteration));
  std::vector<std::string> values, inputs{fmt::format("torch.tensor({})", iteration), fmt::format("torch.tensor({})", keep_going)};
  for (int k = 0; k < carried; ++k) {
    values.push_back(c.output(k));
    c.emit(fmt::format("{} = {}", values.back(), c.input(2 + k)));
    inputs.push_back(values.back());
  }
  std::vector<std::string> lists;
  for (int j = 0; j < scans; ++j) {
    lists.push_back(c.temp());
    c.emit(fmt::format("{}: List[Tensor] = []", lists.back()));
  }
  // The body's outputs land in temporaries; the epilogue hands them on.
  std::vector<std::string> targets, epilogue;
  for (int k = 0; k < body.output_size(); ++k) targets.push_back(c.temp());
  epilogue.push_back(fmt::format("{} = bool({})", keep_going, targets[0]));
  for (int k = 0; k < carried; ++k) epilogue.push_back(fmt::format("{} = {}", values[k], targets[1 + k]));
  for (int j = 0; j < scans; ++j) epilogue.push_back(fmt::format("{}.append({})", lists[j], targets[1 + carried + j]));
  epilogue.push_back(fmt::format("{} += 1", iteration));
  c.emit(fmt::format("while {} and {} < {}:", keep_going, iteration, trip));
  c.convert_branch(body, targets, inputs, epilogue);
  for (int j = 0; j < scans; ++j) {
    if (carried + j >= c.output_count()) break;
    // No pass, no elements: an empty tensor (ONNX leaves the other dims of such an output unspecified).
    c.assign(carried + j, fmt::format("torch.stack({0}) if len({0}) > 0 else torch.empty([0])", lists[j]));
  }
}

}  // namespace

std::vector<ConverterEntry> control_flow_converters() {
  return {
      {"", "If", 1, kMaxOpset, convert_if},
      {"", "Loop", 1, kMaxOpset, convert_loop},
  };
}

}  // namespace mopt::onnx_import
