#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {

const std::vector<ConverterEntry>& converter_table() {
  static const std::vector<ConverterEntry> table = [] {
    std::vector<ConverterEntry> all;
    for (auto family : {elementwise_converters, activation_converters, conv_converters, linear_converters,
                        normalization_converters, pooling_converters, shape_converters, tensor_converters,
                        reduction_converters, resize_converters, recurrent_converters, loss_converters, quantization_converters,
                        signal_converters, control_flow_converters, string_converters}) {
      auto entries = family();
      all.insert(all.end(), entries.begin(), entries.end());
    }
    return all;
  }();
  return table;
}

const ConverterEntry* find_converter(const std::string& domain, const std::string& op_type, int64_t opset) {
  const std::string normalized = domain == "ai.onnx" ? "" : domain;
  for (const auto& entry : converter_table()) {
    if (normalized == entry.domain && op_type == entry.op_type && opset >= entry.since_version &&
        opset <= entry.last_version) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace mopt::onnx_import
