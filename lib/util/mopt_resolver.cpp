#include "lib/util/mopt_resolver.h"

#include <torch/csrc/jit/frontend/sugared_value.h>

namespace mopt {
namespace {

struct MoptResolver : public torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction& m,
                                                         const torch::jit::SourceRange& loc) override {
    if (name == "mopt") return std::make_shared<torch::jit::BuiltinModule>("mopt");
    return torch::jit::nativeResolver()->resolveValue(name, m, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};

}  // namespace

std::shared_ptr<torch::jit::Resolver> mopt_resolver() { return std::make_shared<MoptResolver>(); }

}  // namespace mopt
