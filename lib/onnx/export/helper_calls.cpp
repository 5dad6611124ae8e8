#include "lib/onnx/export/helper_calls.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <mutex>
#include <sstream>

#include "lib/model/graph_walk.h"
#include "lib/onnx/export/export_context.h"
#include "lib/onnx/import/helpers.h"

namespace mopt::onnx_export {
namespace {

constexpr const char* kNamespace = "mopt_onnx::";

// Every helper, compiled once: the operators' kernels run these (one implementation of each
// semantics, the importer's).
const torch::jit::Module& helper_module() {
  static const torch::jit::Module module = [] {
    torch::jit::Module helpers(c10::QualifiedName("__torch__.mopt_onnx_helpers"));
    std::ostringstream source;
    for (const auto& name : onnx_import::helper_names()) source << onnx_import::helper_source(name) << "\n";
    helpers.define(source.str());
    return helpers;
  }();
  return module;
}

bool has_translator(const std::string& helper) { return find_translator(kNamespace + helper) != nullptr; }

// mopt_onnx::<helper>: the helper's own schema without `self`, its kernel the helper itself.
void register_operators() {
  for (const auto& name : onnx_import::helper_names()) {
    if (!has_translator(name)) continue;
    const auto& schema = helper_module().get_method(name).function().getSchema();
    std::vector<c10::Argument> arguments(schema.arguments().begin() + 1, schema.arguments().end());
    const size_t count = arguments.size();
    torch::jit::Operation kernel = [name, count](torch::jit::Stack& stack) {
      std::vector<c10::IValue> inputs(stack.end() - static_cast<std::ptrdiff_t>(count), stack.end());
      torch::jit::drop(stack, count);
      stack.push_back(helper_module().get_method(name)(std::move(inputs)));
    };
    torch::jit::registerOperator(torch::jit::Operator(kNamespace + name, "", std::move(arguments), schema.returns(),
                                                      std::move(kernel), c10::AliasAnalysisKind::FROM_SCHEMA));
  }
}

}  // namespace

void keep_helper_calls(torch::jit::Module& module) {
  static std::once_flag registered;
  std::call_once(registered, register_operators);
  auto graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph();
  const auto* self = graph->inputs()[0];
  for (auto* node : all_nodes(graph->block())) {
    if (node->kind() != c10::prim::CallMethod || node->input(0) != self) continue;
    const auto helper = node->s(c10::attr::name);
    if (!has_translator(helper)) continue;
    auto inputs = node->inputs().vec();
    inputs.erase(inputs.begin());
    auto* call = graph->create(c10::Symbol::fromQualString(kNamespace + helper), inputs, node->outputs().size());
    call->insertBefore(node);
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      call->output(i)->setType(node->output(i)->type());
      node->output(i)->replaceAllUsesWith(call->output(i));
    }
    node->destroy();
  }
}

}  // namespace mopt::onnx_export
