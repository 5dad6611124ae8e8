#pragma once
// What ONNX Runtime makes of a quantized file: the graph it wrote after its own optimizations says
// which Conv/Gemm/MatMul it fused into INT8 kernels and which stayed fp32 (what an ORT user gets).
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <string>

namespace mopt::quant {

/// Ops ORT's CPU QDQ rules run as INT8 lookup tables (DQ -> op -> Q as QLinearSigmoid,
/// QLinearSoftmax, QLinearLeakyRelu): the QDQ pass keeps them INT8, the counter below checks it.
bool ort_runs_as_int8_table(const std::string& op_type);

/// Whether `op_type` is one of ORT's INT8 kernels (QLinearConv, QGemm, DynamicQuantizeMatMul, ...).
bool is_ort_int8_kernel(const std::string& op_type);

/// Counts, in the graph ORT wrote after its optimizations, the INT8 kernels per source op type and
/// the Conv/Gemm/MatMul nodes left in fp32: {"Conv": {"int8": n, "fp32": m}, ..., "quantize_nodes": q}.
nlohmann::json count_ort_fusions(const onnx::ModelProto& optimized);

/// Per source op type, the nodes mopt quantized that ORT still ran in fp32: count_ort_fusions()'s
/// fp32 counts less the nodes mopt kept in fp32 on purpose (`fp32_nodes`: --skip, either fallback).
nlohmann::json left_fp32_by_ort(const nlohmann::json& fusion_ops, const nlohmann::json& fp32_nodes);

}  // namespace mopt::quant
