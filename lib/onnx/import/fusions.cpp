#include "lib/onnx/import/fusions.h"

namespace mopt::onnx_import {

bool try_fusions(NodeContext& context) {
  for (auto fusion : {fuse_layer_norm, fuse_hardswish}) {
    if (fusion(context)) return true;
  }
  return false;
}

}  // namespace mopt::onnx_import
