// If (opsets 1-21): a TorchScript `if` whose blocks are the then/else graphs, converted like the
// main graph; they read values of the enclosing graph by name, as ONNX scopes them. Both blocks
// assign every If output, so the outputs exist after the statement.
// Loop (opsets 1-21): a TorchScript `while` over the body graph. The loop-carried values are the
// node's outputs, set to their initial values before the loop and reassigned from the body's
// outputs after each pass (through temporaries, so a body that swaps two of them reads the old
// values); scan outputs are appended to lists and stacked along a new first axis afterwards.
// Scan (opsets 9-21; Scan-8's batch axis is not): the same loop, its trip count the scan inputs'
// length; each pass hands the body one slice of every scan input (along its axis, from the end
// for direction 1), and scan outputs are stacked along their axis (reversed for direction 1).
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

// The loop-carried values of Loop and Scan: the node's outputs 0..count-1, set before the loop to
// node inputs first..first+count-1; the body reads them (appended to `body_inputs`).
std::vector<std::string> carry(NodeContext& c, int first, int count, std::vector<std::string>& body_inputs) {
  std::vector<std::string> values;
  for (int k = 0; k < count; ++k) {
    values.push_back(c.output(k));
    c.emit(fmt::format("{} = {}", values.back(), c.input(first + k)));
    body_inputs.push_back(values.back());
  }
  return values;
}

// One list per scan output, declared before the loop.
std::vector<std::string> scan_lists(NodeContext& c, int count) {
  std::vector<std::string> lists;
  for (int j = 0; j < count; ++j) {
    lists.push_back(c.temp());
    c.emit(fmt::format("{}: List[Tensor] = []", lists.back()));
  }
  return lists;
}

// The end of a pass: the body's outputs (in temporaries from `first` on: the carried values, then the
// scan outputs) handed to the carried values and appended to the lists.
void hand_on(const std::vector<std::string>& values, const std::vector<std::string>& lists,
             const std::vector<std::string>& targets, size_t first, std::vector<std::string>& epilogue) {
  for (size_t k = 0; k < values.size(); ++k) epilogue.push_back(fmt::format("{} = {}", values[k], targets[first + k]));
  for (size_t j = 0; j < lists.size(); ++j) {
    epilogue.push_back(fmt::format("{}.append({})", lists[j], targets[first + values.size() + j]));
  }
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
  std::vector<std::string> inputs{fmt::format("torch.tensor({})", iteration), fmt::format("torch.tensor({})", keep_going)};
  const auto values = carry(c, 2, carried, inputs);
  const auto lists = scan_lists(c, scans);
  std::vector<std::string> targets, epilogue;
  for (int k = 0; k < body.output_size(); ++k) targets.push_back(c.temp());
  epilogue.push_back(fmt::format("{} = bool({})", keep_going, targets[0]));
  hand_on(values, lists, targets, 1, epilogue);
  epilogue.push_back(fmt::format("{} += 1", iteration));
  c.emit(fmt::format("while {} and {} < {}:", keep_going, iteration, trip));
  c.convert_branch(body, targets, inputs, epilogue);
  for (int j = 0; j < scans; ++j) {
    if (carried + j >= c.output_count()) break;
    // No pass, no elements: an empty tensor (ONNX leaves the other dims of such an output unspecified).
    c.assign(carried + j, fmt::format("torch.stack({0}) if len({0}) > 0 else torch.empty([0])", lists[j]));
  }
}

// A scan axis of `tensor` as TorchScript (a negative one counts from its last dim).
std::string scan_axis(int64_t axis, const std::string& tensor) {
  return axis >= 0 ? std::to_string(axis) : fmt::format("{}.dim() + {}", tensor, axis);
}

void convert_scan(NodeContext& c) {
  const auto* body_attribute = c.attribute("body");
  c.require(body_attribute && body_attribute->has_g(), "Scan without a body graph");
  const auto& body = body_attribute->g();
  const int scan_inputs = static_cast<int>(c.attr_int("num_scan_inputs", 0));
  const int states = c.input_count() - scan_inputs;
  const int scans = body.output_size() - states;
  c.require(scan_inputs >= 1 && states >= 0 && scans >= 0 && body.input_size() == states + scan_inputs,
            "a Scan whose body's inputs and outputs do not match its states and scan inputs");
  auto attribute_or = [&](const std::string& name, int count) {
    auto values = c.attr_ints(name).value_or(std::vector<int64_t>(count, 0));
    c.require(static_cast<int>(values.size()) == count, name + " of the wrong length");
    return values;
  };
  const auto input_axes = attribute_or("scan_input_axes", scan_inputs);
  const auto input_directions = attribute_or("scan_input_directions", scan_inputs);
  const auto output_axes = attribute_or("scan_output_axes", scans);
  const auto output_directions = attribute_or("scan_output_directions", scans);
  std::vector<std::string> sequences, inputs;
  for (int m = 0; m < scan_inputs; ++m) sequences.push_back(c.input(states + m));
  const auto length = c.temp(), step = c.temp();
  c.emit(fmt::format("{} = {}.size({})", length, sequences[0], scan_axis(input_axes[0], sequences[0])));
  const auto values = carry(c, 0, states, inputs);
  for (int m = 0; m < scan_inputs; ++m) {
    const auto index = input_directions[m] == 1 ? fmt::format("{} - 1 - {}", length, step) : step;
    inputs.push_back(fmt::format("{}.select({}, {})", sequences[m], scan_axis(input_axes[m], sequences[m]), index));
  }
  const auto lists = scan_lists(c, scans);
  std::vector<std::string> targets, epilogue;
  for (int k = 0; k < body.output_size(); ++k) targets.push_back(c.temp());
  hand_on(values, lists, targets, 0, epilogue);
  c.emit(fmt::format("for {} in range({}):", step, length));
  c.convert_branch(body, targets, inputs, epilogue);
  for (int j = 0; j < scans && states + j < c.output_count(); ++j) {
    if (output_directions[j] == 1) c.emit(fmt::format("{}.reverse()", lists[j]));
    // The axis counts in the stacked output's rank, one more than a slice's.
    const auto axis = output_axes[j] >= 0 ? std::to_string(output_axes[j])
                                          : fmt::format("{}[0].dim() + 1 + {}", lists[j], output_axes[j]);
    c.assign(states + j, fmt::format("torch.stack({}, {})", lists[j], axis));
  }
}

}  // namespace

std::vector<ConverterEntry> control_flow_converters() {
  return {
      {"", "If", 1, kMaxOpset, convert_if},
      {"", "Loop", 1, kMaxOpset, convert_loop},
      {"", "Scan", 9, kMaxOpset, convert_scan},
  };
}

}  // namespace mopt::onnx_import
