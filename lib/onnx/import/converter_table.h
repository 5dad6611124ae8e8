#pragma once
// The explicit table of ONNX op converters, keyed by (domain, op type, since-version).
#include <string>
#include <vector>

#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// Emits TorchScript for one node.
using ConvertFn = void (*)(NodeContext&);

/// One converter and the opset range of the op's definition it handles (inclusive).
struct ConverterEntry {
  const char* domain;      ///< "" is ai.onnx
  const char* op_type;
  int since_version;       ///< first opset it handles
  int last_version;        ///< last opset it handles
  ConvertFn convert;
};

/// Every converter, in one list (ops/*.cpp each contribute their entries through these).
const std::vector<ConverterEntry>& converter_table();

/// The converter for `op_type` at `opset` in `domain`, or nullptr.
const ConverterEntry* find_converter(const std::string& domain, const std::string& op_type, int64_t opset);

/// The oldest and newest opset the importer handles.
constexpr int kMinOpset = 6;  // opset 6 differs from 7 only in legacy broadcasting, handled
constexpr int kMaxOpset = 21;

// Per-family entry lists, defined in ops/<family>.cpp and concatenated by converter_table().
std::vector<ConverterEntry> elementwise_converters();
std::vector<ConverterEntry> activation_converters();
std::vector<ConverterEntry> conv_converters();
std::vector<ConverterEntry> linear_converters();
std::vector<ConverterEntry> normalization_converters();
std::vector<ConverterEntry> pooling_converters();
std::vector<ConverterEntry> shape_converters();
std::vector<ConverterEntry> tensor_converters();
std::vector<ConverterEntry> reduction_converters();
std::vector<ConverterEntry> resize_converters();
std::vector<ConverterEntry> recurrent_converters();
std::vector<ConverterEntry> loss_converters();
std::vector<ConverterEntry> quantization_converters();
std::vector<ConverterEntry> signal_converters();
std::vector<ConverterEntry> control_flow_converters();
std::vector<ConverterEntry> string_converters();

}  // namespace mopt::onnx_import
