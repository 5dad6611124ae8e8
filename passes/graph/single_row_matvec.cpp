// single-row-matvec: a linear layer called with one row runs as a matrix-vector product.
//   Before: %y = aten::linear(%x, %W, %b)            (or aten::matmul(%x, %Wt), what
//                                                      optimize-for-inference makes of a linear)
//   After:  %one_row = aten::eq(aten::size(%x, 0), 1)  (after aten::dim(%x) == 2 unless %x is
//           %y = prim::If(%one_row)                     known to be 2-D)
//             { aten::unsqueeze(aten::add(aten::mv(%W, aten::select(%x, 0, 0)), %b), 0) }
//             { aten::linear(%x, %W, %b) }
// Why: Debian's LibTorch multiplies fp32 matrices with OpenBLAS, whose 1-row sgemm is 4-5x slower
// than its sgemv on the same weight (1000x1280 at 1 thread: 261 us vs 54 us; 192x64 only 1.13x,
// scripts/bench/single_row_matvec.py). That is a classifier head at batch 1: MobileNetV2's took
// 0.48 ms of its 6.9 ms in PyTorch's profiler. LibTorch 2.x from the wheel multiplies with MKL,
// whose 1-row sgemm is as fast as its sgemv or faster (0.55-0.96x the gemv's time), so the x86
// profiles no longer run this pass (docs/benchmarks.md, "single-row-matvec on LibTorch 2.13"); it
// stays for LibTorch builds on OpenBLAS.
// Preconditions: the weight is a constant dense fp32 matrix (the module is frozen first when it is
// not) of at least min-weight-elements elements (small layers gain little); inputs that are known
// not to be 2-D are left alone. The rank and batch checks cost under 0.2 us per layer (the MLP
// fixture at batch 4 with and without them, python3, 30 alternating blocks of 200 calls).
// Numerics: the same products summed in another order (float rounding only).
// Stats: rewrites = linear layers given the one-row path.

#include <functional>

#include "lib/model/graph_walk.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// True for linear(x, W, b) and matmul(x, W) whose W is a constant dense fp32 matrix that large.
bool has_constant_weight(const Node* node, int64_t min_elements) {
  if (node->kind() != c10::aten::linear && node->kind() != c10::aten::matmul) return false;
  auto weight = torch::jit::toIValue(node->input(1));
  if (!weight || !weight->isTensor()) return false;
  const auto& tensor = weight->toTensor();
  return tensor.layout() == at::kStrided && tensor.scalar_type() == at::kFloat && tensor.dim() == 2 &&
         tensor.numel() >= min_elements;
}

// 2 when `x` is known 2-D (typed, or torch.flatten(x, 1)), another rank when known, else nullopt.
c10::optional<size_t> known_rank(const Value* x) {
  if (auto type = x->type()->cast<c10::TensorType>(); type && type->dim()) return type->dim();
  const Node* producer = x->node();
  if (producer->kind() == c10::aten::flatten && torch::jit::toIValue(producer->input(1)) == c10::IValue(1) &&
      torch::jit::toIValue(producer->input(2)) == c10::IValue(-1)) {
    return 2;
  }
  return c10::nullopt;
}

// `condition and then_value()`, with then_value's ops inserted only in the branch that needs them.
Value* insert_bool_if(Graph& graph, Value* condition, const std::function<Value*()>& then_value, Value* else_value) {
  auto* branch = graph.insertNode(graph.create(c10::prim::If, {condition}, 1));
  branch->output()->setType(c10::BoolType::get());
  {
    torch::jit::WithInsertPoint guard(branch->addBlock());
    branch->blocks()[0]->registerOutput(then_value());
  }
  branch->addBlock()->registerOutput(else_value);
  return branch->output();
}

void add_one_row_path(Graph& graph, Node* node, bool known_2d) {
  torch::jit::WithInsertPoint guard(node);
  Value* x = node->input(0);
  auto batch_is_one = [&] { return graph.insert(c10::aten::eq, {graph.insert(c10::aten::size, {x, 0}), 1}); };
  Value* one_row = known_2d ? batch_is_one()
                            : insert_bool_if(graph, graph.insert(c10::aten::eq, {graph.insert(c10::aten::dim, {x}), 2}),
                                             batch_is_one, graph.insertConstant(false));
  auto* branch = graph.insertNode(graph.create(c10::prim::If, {one_row}, 1));
  branch->output()->copyMetadata(node->output());
  {
    torch::jit::WithInsertPoint in_then(branch->addBlock());
    // mv wants [N, K]: linear's weight is, matmul's is [K, N] (a transposed view costs no copy).
    const bool is_linear = node->kind() == c10::aten::linear;
    Value* weight = is_linear ? node->input(1) : graph.insert(c10::aten::t, {node->input(1)});
    Value* product = graph.insert(c10::aten::mv, {weight, graph.insert(c10::aten::select, {x, 0, 0})});
    if (is_linear && !node->input(2)->type()->cast<c10::NoneType>()) {
      product = graph.insert(c10::aten::add, {product, node->input(2)});
    }
    branch->blocks()[0]->registerOutput(graph.insert(c10::aten::unsqueeze, {product, 0}));
  }
  auto* else_block = branch->addBlock();
  node->output()->replaceAllUsesWith(branch->output());
  node->moveBefore(else_block->return_node());
  else_block->registerOutput(node->output());
}

class SingleRowMatvecPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "single-row-matvec",
        "a linear layer called with one row (batch 1) runs as matrix-vector product (BLAS gemv, 4-5x faster than "
        "a 1-row gemm in OpenBLAS; no gain with the MKL of mopt's LibTorch, measure it); other batch sizes unchanged "
        "(freezes first)",
        {ModelFormat::kTorchScript},
        {{"min-weight-elements", OptionType::kInt, "16384",
          "only weights with at least this many elements (small layers gain little)"}},
        /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    auto& module = model.torchscript();
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/false);
    int64_t rewrites = 0, skipped_rank = 0;
    for (const auto& method : module.get_methods()) {
      auto graph = method.graph();
      for (auto* node : all_nodes(graph->block())) {
        if (!has_constant_weight(node, options.get_int("min-weight-elements"))) continue;
        const auto rank = known_rank(node->input(0));
        if (rank && *rank != 2) {
          ++skipped_rank;
          continue;
        }
        add_one_row_path(*graph, node, rank.has_value());
        ++rewrites;
      }
    }
    model.invalidate_graph_caches();
    PassStats stats;
    stats.rewrites = rewrites;
    stats.details = {{"froze_first", froze}, {"linear_layers", rewrites}, {"skipped_not_2d", skipped_rank}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_single_row_matvec_pass() { return std::make_unique<SingleRowMatvecPass>(); }

}  // namespace mopt
