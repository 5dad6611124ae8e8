#pragma once
// Which values of a graph after ConvertFrozenOpsToMKLDNN have the same shape for every input.
#include <torch/script.h>

#include <memory>

namespace mopt {

/// same(a, b) is true when `a` and `b` provably have equal sizes whatever the model's input, read
/// from the graph alone: both descend from one value through convolutions (output channels from
/// the weight, height and width as a function of the source's) and shape-keeping elementwise ops.
/// False means "not proven", not "different". A residual add needs no run-time broadcast check
/// when it holds. Remembers what it derived, so use one instance per graph state.
class OneDnnShapes {
 public:
  OneDnnShapes();
  ~OneDnnShapes();
  bool same(const torch::jit::Value* a, const torch::jit::Value* b);

 private:
  struct Memo;
  std::unique_ptr<Memo> memo_;
};

}  // namespace mopt
