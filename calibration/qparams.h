#pragma once
// Turning a calibrated range into a quantizer's scale and zero point, exactly as PyTorch's observers do.
#include <cstdint>
#include <limits>

#include "calibration/calibrator.h"

namespace mopt {

/// Scale and zero point of an affine quantizer: real = scale * (q - zero_point).
struct QuantParams {
  double scale;
  int64_t zero_point;
};

/// Affine (asymmetric) or symmetric qparams for [qmin,qmax] that always include 0 in the range (PyTorch convention: min=min(min,0), max=max(max,0); scale = max(eps, (max-min)/(qmax-qmin)); zero point rounded and clamped). Symmetric: scale = max(|min|,|max|)*2/(qmax-qmin), zero_point = (qmin+qmax+1)/2 for quint8 (128), 0 for qint8.
///
/// Computed in float32 like PyTorch's `_calculate_qparams`, so the result matches what its observers
/// produce bit for bit; eps is float32's machine epsilon, rounding is half-to-even (torch.round).
/// `min_scale` replaces that floor: ONNX Runtime's quantizer floors at float32's smallest normal
/// (kOrtMinScale), so activations of 1e-9 (random-weight MobileNetV2) keep their resolution in QDQ.
QuantParams choose_qparams(Range range, int64_t qmin, int64_t qmax, bool symmetric,
                           float min_scale = std::numeric_limits<float>::epsilon());

/// The scale floor of ONNX Runtime's compute_scale_zp: numpy.finfo(float32).tiny.
constexpr float kOrtMinScale = std::numeric_limits<float>::min();

}  // namespace mopt
