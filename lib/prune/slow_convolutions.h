#pragma once
// Which convolutions LibTorch 1.13 runs on its slow im2col path. At batch 1 it sends a convolution
// with a kernel of at most 3x3 and one group to oneDNN only when the input holds more than 20480
// values ("for some case, native is faster" in its use_mkldnn); below that it calls
// aten::_slow_conv2d_forward, which was 2x slower than oneDNN here on ResNet-18's last stage once
// channel pruning took it from 512 to 352 channels (7x7 maps: 25088 -> 17248 values).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// The convolutions of a TorchScript `model` that one call on `inputs` ran through
/// aten::_slow_conv2d_forward, each as "LAYER (input 1x352x7x7)"; empty for other models.
std::vector<std::string> slow_path_convolutions(const Model& model, const std::vector<torch::Tensor>& inputs);

}  // namespace mopt
