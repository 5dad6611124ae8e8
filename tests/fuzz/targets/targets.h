#pragma once
// The run functions behind tests/fuzz/fuzz_target.cpp's table, one file per family of input.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mopt::fuzz {

/// ONNX bytes -> Model::load, onnx::checker, import_onnx and the ONNX passes (model_targets.cpp).
std::string run_onnx_model(const uint8_t* data, size_t size);
/// TorchScript archive bytes -> Model::load + summarize_model (model_targets.cpp).
std::string run_torchscript(const uint8_t* data, size_t size);

/// .npy bytes -> load_dataset (tensor_targets.cpp).
std::string run_npy(const uint8_t* data, size_t size);
/// IDX bytes, raw or gzip -> load_dataset (tensor_targets.cpp).
std::string run_idx(const uint8_t* data, size_t size);
/// onnx.TensorProto bytes (a .pb file) -> load_dataset (tensor_targets.cpp).
std::string run_tensor_pb(const uint8_t* data, size_t size);
/// torch.save zip bytes -> load_dataset (tensor_targets.cpp).
std::string run_torch_saved(const uint8_t* data, size_t size);

/// Pipeline text -> parse/print round trip + validate_pipeline (text_targets.cpp).
std::string run_pipeline_text(const uint8_t* data, size_t size);
/// --input-shape text -> parse_input_spec, synthetic_input (text_targets.cpp).
std::string run_input_spec(const uint8_t* data, size_t size);
/// --fail-if / --max-regression text -> parse_gate, evaluate_fail_if, parse_regression (text_targets.cpp).
std::string run_gate(const uint8_t* data, size_t size);

/// Device profile JSON -> load_profile, its pipeline and budget gates (json_targets.cpp).
std::string run_profile(const uint8_t* data, size_t size);
/// Report JSON -> read_report as a --baseline, check_regressions, compare_reports (json_targets.cpp).
std::string run_baseline_report(const uint8_t* data, size_t size);
/// Batch manifest JSON -> load_manifest (json_targets.cpp).
std::string run_manifest(const uint8_t* data, size_t size);
/// Batch manifest YAML -> load_manifest (json_targets.cpp).
std::string run_manifest_yaml(const uint8_t* data, size_t size);

}  // namespace mopt::fuzz
