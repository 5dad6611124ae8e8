#include "lib/train/precision_choice.h"

#include <fmt/format.h>

#include "lib/util/log.h"

namespace mopt::train {
namespace {

// auto keeps fp32 unless a lower precision is clearly faster: timings of a few steps vary by a few percent.
constexpr double kAutoMinSpeedup = 1.05;

std::vector<Precision> candidates(AmpRequest request) {
  switch (request) {
    case AmpRequest::kFloat16: return {Precision::kFloat32, Precision::kFloat16};
    case AmpRequest::kBFloat16: return {Precision::kFloat32, Precision::kBFloat16};
    case AmpRequest::kAuto: return {Precision::kFloat32, Precision::kFloat16, Precision::kBFloat16};
    case AmpRequest::kOff: break;
  }
  return {};
}

}  // namespace

double PrecisionChoice::speedup() const {
  const auto fp32 = samples_per_s.find("fp32"), mine = samples_per_s.find(precision_name(chosen));
  if (fp32 == samples_per_s.end() || mine == samples_per_s.end() || fp32->second <= 0) return 0;
  return mine->second / fp32->second;
}

nlohmann::json PrecisionChoice::to_json() const {
  nlohmann::json j = {{"amp", amp_request_name(request)}, {"precision", precision_name(chosen)}, {"reason", reason}};
  if (!samples_per_s.empty()) {
    j["measured_samples_per_s"] = samples_per_s;
    j["speedup_vs_fp32"] = speedup();
    j["probe_steps"] = kPrecisionProbeSteps;
  }
  return j;
}

PrecisionChoice choose_precision(const torch::jit::Module& model, const Dataset& train, const TrainConfig& config,
                                 const Objective& objective) {
  PrecisionChoice choice;
  choice.request = config.amp;
  if (config.amp == AmpRequest::kOff) {
    choice.reason = "--amp off";
    return choice;
  }
  double chosen_index = 0;
  if (config.is_main_rank()) {
    for (const auto precision : candidates(config.amp)) {
      log_info("measuring training speed in {} ({} steps of batch {}) ...", precision_name(precision),
               kPrecisionProbeSteps, config.batch_size);
      choice.samples_per_s[precision_name(precision)] =
          measure_training_speed(model, train, config, objective, precision, kPrecisionProbeSteps);
    }
    const double fp32 = choice.samples_per_s.at("fp32");
    if (config.amp == AmpRequest::kAuto) {
      double best = fp32 * kAutoMinSpeedup;
      for (const auto precision : {Precision::kFloat16, Precision::kBFloat16}) {
        if (choice.samples_per_s.at(precision_name(precision)) > best) {
          best = choice.samples_per_s.at(precision_name(precision));
          choice.chosen = precision;
        }
      }
      choice.reason = choice.chosen == Precision::kFloat32
                          ? fmt::format("--amp auto: neither fp16 nor bf16 trained {:.0f}% faster than fp32 here",
                                        100 * (kAutoMinSpeedup - 1))
                          : fmt::format("--amp auto: {} trained fastest", precision_name(choice.chosen));
    } else {
      choice.chosen = config.amp == AmpRequest::kFloat16 ? Precision::kFloat16 : Precision::kBFloat16;
      choice.reason = fmt::format("--amp {}", amp_request_name(config.amp));
      if (choice.speedup() < 1) {
        log_info("warning: {} training ran {:.0f} samples/s against {:.0f} in fp32 ({:.2f}x) on {}; training in {} as "
                 "asked (--amp auto would pick the fastest)",
                 precision_name(choice.chosen), choice.samples_per_s.at(precision_name(choice.chosen)), fp32,
                 choice.speedup(), config.device.str(), precision_name(choice.chosen));
      }
    }
    chosen_index = static_cast<double>(choice.chosen);
  }
  if (config.data_parallel) {
    choice.chosen = static_cast<Precision>(static_cast<int>(config.data_parallel->main_values({chosen_index}).front()));
  }
  log_info("training precision: {} ({})", precision_name(choice.chosen), choice.reason);
  return choice;
}

}  // namespace mopt::train
