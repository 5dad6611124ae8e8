#pragma once
// TorchScript observer modules for LibTorch's JIT quantization passes, defined from C++.
// Activation observers are thin: they hand every tensor to a C++ ObservationSink through the
// custom op `mopt::observe`, so calibrators (calibration/) run in C++ with bounded memory, and
// the chosen scale/zero-point are written back before InsertQuantDeQuant reads them.
// The passes read int attributes `dtype`, `qscheme` (and `ch_axis` per channel) and call
// calculate_qparams(), which must return exactly two tensors (docs/design.md).
#include <torch/script.h>

#include <cstdint>

namespace mopt::quant {

/// Receives activations seen by observers during a calibration run.
class ObservationSink {
 public:
  virtual ~ObservationSink() = default;
  virtual void observe(int64_t observer_id, const at::Tensor& values) = 0;
};

/// Routes `mopt::observe` calls to `sink` for its lifetime (one calibration at a time).
class ScopedObservationSink {
 public:
  explicit ScopedObservationSink(ObservationSink* sink);
  ~ScopedObservationSink();
  ScopedObservationSink(const ScopedObservationSink&) = delete;
  ScopedObservationSink& operator=(const ScopedObservationSink&) = delete;
};

/// Class-name marker of activation observers (to find their instances after InsertObservers).
inline constexpr const char* kActivationObserverName = "MoptActivationObserver";

/// Static activation observer: quint8, per-tensor affine; qparams set with set_activation_qparams.
torch::jit::Module make_activation_observer();
/// Weight observer: qint8 symmetric, per output channel (axis 0) or per tensor; min/max in TorchScript.
torch::jit::Module make_weight_observer(bool per_channel);
/// Dynamic-quantization activation placeholder (quint8; qparams are computed at run time).
torch::jit::Module make_dynamic_activation_observer();

/// Writes the chosen qparams into an activation observer instance.
void set_activation_qparams(torch::jit::Module& observer, double scale, int64_t zero_point);

}  // namespace mopt::quant
