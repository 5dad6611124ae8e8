// DFT, STFT, and HannWindow, HammingWindow, BlackmanWindow (opset 17): a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)
// for n in [0, size), N = size (periodic) or size - 1, computed in float32 with the float32 constants
// of their ONNX function bodies, then cast to output_datatype.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

template <int kKind>
void convert_window(NodeContext& c) {
  // The function bodies' constants, as float32 values.
  const double a0 = kKind == 0 ? 0.5f : kKind == 1 ? 25.0f / 46.0f : 0.42f;
  const double a1 = kKind == 0 ? 0.5f : kKind == 1 ? 1.0f - 25.0f / 46.0f : 0.5f;
  const double a2 = kKind == 2 ? 0.08f : 0.0f;
  auto size = c.int_form(0).value_or(fmt::format("int({})", c.input(0)));
  auto type = static_cast<int32_t>(c.attr_int("output_datatype", onnx::TensorProto::FLOAT));
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {}).to({})", c.helper("_window"), size,
                          c.attr_int("periodic", 1) ? "True" : "False", float_literal(a0), float_literal(a1),
                          float_literal(a2), dtype_literal(c, type)));
}

// DFT (opset 17: axis an attribute, default 1; opset 20: an input, default -2), as torch.fft; inverse and
// onesided together are a real inverse transform (irfft).
void convert_dft(NodeContext& c) {
  const bool inverse = c.attr_int("inverse", 0) != 0, onesided = c.attr_int("onesided", 0) != 0;
  c.require(c.input_elem_type(0) == onnx::TensorProto::FLOAT || c.input_elem_type(0) == onnx::TensorProto::DOUBLE,
            "DFT of inputs other than float or double");
  auto length = c.has_input(1) ? c.int_form(1).value_or(fmt::format("int({})", c.input(1))) : "0";
  std::string axis = std::to_string(c.attr_int("axis", 1));
  if (c.opset() >= 20) {
    axis = c.has_input(2) ? c.int_form(2).value_or(fmt::format("int({})", c.input(2))) : "-2";
  }
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {})", c.helper("_dft"), c.input(0), length, axis,
                          inverse ? "True" : "False", onesided ? "True" : "False"));
}

// STFT (opset 17): frames of frame_length (input 3, else the window's length) every frame_step samples.
void convert_stft(NodeContext& c) {
  c.require(c.input_elem_type(0) == onnx::TensorProto::FLOAT || c.input_elem_type(0) == onnx::TensorProto::DOUBLE,
            "STFT of inputs other than float or double");
  c.require(c.has_input(2) || c.has_input(3), "STFT with neither a window nor a frame_length");
  auto step = c.int_form(1).value_or(fmt::format("int({})", c.input(1)));
  auto length = c.has_input(3) ? c.int_form(3).value_or(fmt::format("int({})", c.input(3)))
                               : fmt::format("{}.size(0)", c.input(2));
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {})", c.helper("_stft"), c.input(0), step,
                          c.has_input(2) ? c.input(2) : "None", length, c.attr_int("onesided", 1) ? "True" : "False"));
}

}  // namespace

std::vector<ConverterEntry> signal_converters() {
  return {
      {"", "HannWindow", 17, kMaxOpset, convert_window<0>},
      {"", "HammingWindow", 17, kMaxOpset, convert_window<1>},
      {"", "BlackmanWindow", 17, kMaxOpset, convert_window<2>},
      {"", "DFT", 17, kMaxOpset, convert_dft},
      {"", "STFT", 17, kMaxOpset, convert_stft},
  };
}

}  // namespace mopt::onnx_import
