#pragma once
// LibTorch 1.13's choice of convolution kernel at batch 1. It gives a convolution of one group and
// a kernel of at most 3 on a side to oneDNN only when the input holds more than 20480 values ("for
// some case, native is faster" in its use_mkldnn); below that it calls its im2col path,
// aten::_slow_conv2d_forward. On ResNet-18's last stage, pruned from 512 to 352 channels (7x7
// maps: 25088 -> 17248 values), that path took 5.4 ms of 24.7 and made the pruned model slower
// than the original at 1 thread.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// Above this many input values LibTorch 1.13 runs a batch-1 convolution in oneDNN.
inline constexpr int64_t kOneDnnMinInputValues = 20480;

/// The convolutions of a TorchScript `model` that one call on `inputs` ran through
/// aten::_slow_conv2d_forward, each as "LAYER (input 1x352x7x7)"; empty for other models.
std::vector<std::string> slow_path_convolutions(const Model& model, const std::vector<torch::Tensor>& inputs);

/// The input shape of every convolution (by module path, e.g. "layer4.1.conv1") in one call of
/// `module` on `inputs`.
std::map<std::string, std::vector<int64_t>> convolution_input_shapes(const torch::jit::Module& module,
                                                                     const std::vector<torch::Tensor>& inputs);

}  // namespace mopt
