#include "lib/train/lr_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lib/errors.h"

namespace mopt::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Half a cosine from `from` to `to` as progress goes 0 -> 1.
double cosine_between(double from, double to, double progress) {
  return to + (from - to) * 0.5 * (1 + std::cos(kPi * std::clamp(progress, 0.0, 1.0)));
}

}  // namespace

void validate_schedule(const ScheduleSpec& spec) {
  if (spec.kind != "constant" && spec.kind != "cosine" && spec.kind != "step" && spec.kind != "one-cycle") {
    throw usage_error(fmt::format("unknown --lr-schedule '{}'; use constant, cosine, step or one-cycle", spec.kind));
  }
  if (spec.step_epochs < 1) throw usage_error("--step-epochs must be >= 1");
  if (!(spec.gamma > 0 && spec.gamma <= 1)) throw usage_error("--gamma must be in (0, 1]");
  if (!(spec.warmup_fraction > 0 && spec.warmup_fraction < 1)) throw usage_error("warm-up fraction must be in (0, 1)");
}

double learning_rate_at(const ScheduleSpec& spec, double base_lr, int64_t step, int64_t total_steps,
                        int64_t steps_per_epoch) {
  const double progress = total_steps > 1 ? static_cast<double>(step) / static_cast<double>(total_steps - 1) : 0.0;
  if (spec.kind == "cosine") return cosine_between(base_lr, 0.0, progress);
  if (spec.kind == "step") {
    const int64_t epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
    return base_lr * std::pow(spec.gamma, static_cast<double>(epoch / spec.step_epochs));
  }
  if (spec.kind == "one-cycle") {
    const double start = base_lr / 25, end = base_lr / 1e4;
    if (progress < spec.warmup_fraction) return start + (base_lr - start) * progress / spec.warmup_fraction;
    return cosine_between(base_lr, end, (progress - spec.warmup_fraction) / (1 - spec.warmup_fraction));
  }
  return base_lr;
}

}  // namespace mopt::train
