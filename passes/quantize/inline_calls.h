#pragma once
// Function calls inlined into a module's method before quantization, so later rewrites see the
// ops inside them (stochastic_depth's training branch, F.silu's in-place branch).
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <memory>
#include <vector>

namespace mopt::quant {

/// Inlines every prim::CallFunction of `graph` that `wanted(call, callee)` accepts, repeatedly (an
/// inlined body may hold more such calls). Method calls stay calls: InsertObservers works per
/// module. Returns whether anything was inlined.
bool inline_function_calls(torch::jit::Graph& graph,
                           const std::function<bool(const torch::jit::Node*, torch::jit::GraphFunction&)>& wanted);

/// Inlines the function calls whose body holds an op of one of `kinds` (torch.nn.functional.silu,
/// relu6), then folds the branches the inlined constants decide (their `inplace` flag). Returns
/// whether anything was inlined.
bool inline_calls_computing(std::shared_ptr<torch::jit::Graph> graph, const std::vector<c10::Symbol>& kinds);

}  // namespace mopt::quant
