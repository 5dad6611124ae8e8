#include "lib/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt::train {

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFloat16: return "fp16";
    case Precision::kBFloat16: return "bf16";
    case Precision::kFloat32: break;
  }
  return "fp32";
}

Precision precision_named(const std::string& name) {
  if (name == "fp16") return Precision::kFloat16;
  if (name == "bf16") return Precision::kBFloat16;
  return Precision::kFloat32;
}

AmpRequest parse_amp(const std::string& text) {
  if (text == "off" || text == "fp32") return AmpRequest::kOff;
  if (text == "fp16") return AmpRequest::kFloat16;
  if (text == "bf16") return AmpRequest::kBFloat16;
  if (text == "auto") return AmpRequest::kAuto;
  throw usage_error(fmt::format("--amp must be off, fp16, bf16 or auto, not '{}'", text));
}

std::string amp_request_name(AmpRequest request) {
  switch (request) {
    case AmpRequest::kFloat16: return "fp16";
    case AmpRequest::kBFloat16: return "bf16";
    case AmpRequest::kAuto: return "auto";
    case AmpRequest::kOff: break;
  }
  return "off";
}

AutocastScope::AutocastScope(c10::DeviceType device_type, Precision precision) : device_type_(device_type) {
  if (precision == Precision::kFloat32) return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, precision == Precision::kFloat16 ? at::kHalf : at::kBFloat16);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Leaving the outermost scope drops the cached low-precision copies of the weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, was_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

GradScaler::GradScaler(bool enabled, c10::Device device) : GradScaler(enabled, device, Settings{}) {}

GradScaler::GradScaler(bool enabled, c10::Device device, const Settings& settings)
    : enabled_(enabled), settings_(settings) {
  const auto on = torch::TensorOptions().device(device);
  scale_ = torch::full({1}, settings_.initial_scale, on.dtype(torch::kFloat));
  growth_tracker_ = torch::zeros({1}, on.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, on.dtype(torch::kFloat));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_.to(loss.dtype()).squeeze() : loss;
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return false;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  found_inf_.zero_();
  if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, scale_.reciprocal());
  return found_inf_.item<float>() > 0;
}

void GradScaler::update(bool overflowed) {
  if (!enabled_) return;
  found_inf_.fill_(overflowed ? 1.0 : 0.0);
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, settings_.growth_factor, settings_.backoff_factor,
                         settings_.growth_interval);
  if (overflowed) ++skipped_steps_;
}

double GradScaler::current_scale() const { return enabled_ ? scale_.item<double>() : 1.0; }

nlohmann::json GradScaler::state() const {
  if (!enabled_) return nullptr;
  return {{"scale", current_scale()}, {"growth_tracker", growth_tracker_.item<int64_t>()}, {"skipped_steps", skipped_steps_}};
}

void GradScaler::load_state(const nlohmann::json& state) {
  if (!enabled_ || state.is_null()) return;
  scale_.fill_(state.at("scale").get<double>());
  growth_tracker_.fill_(state.at("growth_tracker").get<int64_t>());
  skipped_steps_ = state.at("skipped_steps");
}

}  // namespace mopt::train
