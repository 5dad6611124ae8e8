#pragma once
// Mixed-precision training: autocast (matmuls and convolutions in fp16 or bf16, reductions and
// losses in fp32) and, for fp16, dynamic loss scaling so small gradients do not underflow. The
// same as PyTorch's torch.autocast and torch.amp.GradScaler, on the CPU and on CUDA.
#include <torch/torch.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mopt::train {

/// What the forward and backward passes compute in.
enum class Precision { kFloat32, kFloat16, kBFloat16 };

/// "fp32", "fp16", "bf16".
std::string precision_name(Precision precision);
/// The precision precision_name() gives `name`; fp32 for any other name.
Precision precision_named(const std::string& name);

/// What --amp asks for: a fixed precision, or kAuto (measure fp32, fp16 and bf16, train in the fastest).
enum class AmpRequest { kOff, kFloat16, kBFloat16, kAuto };

/// Parses --amp off|fp16|bf16|auto (usage_error otherwise).
AmpRequest parse_amp(const std::string& text);
std::string amp_request_name(AmpRequest request);

/// Autocast on `device_type` for its lifetime; nothing for fp32. Restores the previous state.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device_type, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool active_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

/// Dynamic loss scaling (fp16 only; disabled scalers pass everything through). The loss is
/// multiplied by the scale before backward; the gradients are divided by it before the step; a
/// step whose gradients hold inf or NaN is skipped and the scale halved; after `growth_interval`
/// clean steps in a row the scale doubles. PyTorch's defaults.
class GradScaler {
 public:
  struct Settings {
    double initial_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
  };
  GradScaler(bool enabled, c10::Device device);
  GradScaler(bool enabled, c10::Device device, const Settings& settings);

  bool enabled() const { return enabled_; }
  /// loss * scale (loss itself when disabled).
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides the gradients by the scale in place; true when any of them is inf or NaN.
  bool unscale(const std::vector<torch::Tensor>& parameters);
  /// Adjusts the scale after a step (`overflowed`: unscale's answer).
  void update(bool overflowed);
  double current_scale() const;
  int64_t skipped_steps() const { return skipped_steps_; }

  /// The scale, the clean-step count and the skipped steps, for checkpoints.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool enabled_;
  Settings settings_;
  torch::Tensor scale_;           // float32 [1] on the gradients' device
  torch::Tensor growth_tracker_;  // int32 [1]: clean steps since the last change
  torch::Tensor found_inf_;       // float32 [1]
  int64_t skipped_steps_ = 0;
};

}  // namespace mopt::train
