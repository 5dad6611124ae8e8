#pragma once
// The resolver for TorchScript source that mopt compiles: LibTorch's own, plus `mopt`, so the source
// can call mopt's custom ops (`mopt.observe(...)`, `mopt.regex_full_match(...)`); the native resolver
// only knows `torch`.
#include <torch/csrc/jit/frontend/resolver.h>

#include <memory>

namespace mopt {

std::shared_ptr<torch::jit::Resolver> mopt_resolver();

}  // namespace mopt
