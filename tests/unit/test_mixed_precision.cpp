// Mixed-precision training (lib/train/mixed_precision, precision_choice): autocast scopes, the
// loss scaler's skip-and-back-off rules, and fp16/bf16 runs of the training loop on the CPU.
#include <doctest/doctest.h>

#include <limits>

#include "lib/train/distill_objectives.h"
#include "lib/train/mixed_precision.h"
#include "lib/train/precision_choice.h"
#include "lib/train/trainer.h"
#include "lib/util/log.h"
#include "tests/unit/linear_task.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::train;

TEST_SUITE("mixed-precision") {
  TEST_CASE("autocast computes matmuls in the scope's precision and restores the previous state") {
    const auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
    {
      AutocastScope fp16(c10::kCPU, Precision::kFloat16);
      CHECK((torch::mm(a, b).scalar_type() == at::kHalf));
      {
        AutocastScope bf16(c10::kCPU, Precision::kBFloat16);
        CHECK((torch::mm(a, b).scalar_type() == at::kBFloat16));
      }
      CHECK((torch::mm(a, b).scalar_type() == at::kHalf));
      // Distillation losses are fp32 even where CPU autocast leaves log_softmax in fp16.
      const auto terms = soft_target_terms(torch::mm(a, b), torch::randn({4, 3}), torch::tensor({0, 1, 2, 0}), SoftTargets{});
      for (const auto& term : terms) CHECK((term.second.scalar_type() == at::kFloat));
    }
    CHECK((torch::mm(a, b).scalar_type() == at::kFloat));
    AutocastScope fp32(c10::kCPU, Precision::kFloat32);
    CHECK((torch::mm(a, b).scalar_type() == at::kFloat));
  }

  TEST_CASE("the loss scaler skips steps whose gradients overflowed, halves the scale, and grows it after clean steps") {
    GradScaler::Settings settings;
    settings.initial_scale = 1024;
    settings.growth_interval = 2;
    GradScaler scaler(true, c10::kCPU, settings);
    auto w = torch::ones({3}).requires_grad_(true);
    CHECK(scaler.scale(torch::tensor(2.0f)).item<double>() == doctest::Approx(2048));

    w.mutable_grad() = torch::tensor({1024.0f, 2048.0f, std::numeric_limits<float>::infinity()});
    CHECK(scaler.unscale({w}));
    scaler.update(true);
    CHECK(scaler.current_scale() == doctest::Approx(512));
    CHECK(scaler.skipped_steps() == 1);

    for (int clean = 0; clean < 2; ++clean) {
      w.mutable_grad() = torch::tensor({512.0f, 1024.0f, 0.0f});
      CHECK_FALSE(scaler.unscale({w}));
      CHECK(torch::allclose(w.grad(), torch::tensor({1.0f, 2.0f, 0.0f})));  // divided by the scale
      scaler.update(false);
    }
    CHECK(scaler.current_scale() == doctest::Approx(1024));  // two clean steps: doubled
    CHECK(scaler.skipped_steps() == 1);

    GradScaler restored(true, c10::kCPU);
    restored.load_state(scaler.state());
    CHECK(restored.current_scale() == doctest::Approx(1024));
    CHECK(restored.skipped_steps() == 1);

    GradScaler off(false, c10::kCPU);
    auto loss = torch::tensor(3.0f);
    CHECK(off.scale(loss).item<float>() == 3.0f);
    w.mutable_grad() = torch::tensor({std::numeric_limits<float>::infinity(), 0.0f, 0.0f});
    CHECK_FALSE(off.unscale({w}));
    CHECK(off.state().is_null());
  }

  TEST_CASE("fp16 and bf16 training learn the task as fp32 does, and the weights stay fp32") {
    set_verbosity(Verbosity::kQuiet);
    const auto train_data = test::linear_task(1024, 20, 4, 1), val_data = test::linear_task(256, 20, 4, 2);
    TrainConfig config;
    config.epochs = 4;
    config.batch_size = 64;
    config.optimizer.lr = 0.05;
    double fp32_accuracy = 0;
    for (const auto precision : {Precision::kFloat32, Precision::kFloat16, Precision::kBFloat16}) {
      CAPTURE(precision_name(precision));
      config.precision = precision;
      torch::manual_seed(0);
      auto model = test::linear_model(20, 4);
      const auto result = train_model(model, {}, train_data, val_data, config, cross_entropy_objective());
      CHECK((result.precision == precision));
      CHECK(result.loss_scaling.is_null() == (precision != Precision::kFloat16));
      for (const auto& p : model.parameters()) CHECK((p.scalar_type() == at::kFloat));
      if (precision == Precision::kFloat32) fp32_accuracy = result.best_val_accuracy;
      CHECK(result.best_val_accuracy > 0.85);
      CHECK(result.best_val_accuracy > fp32_accuracy - 0.03);
    }
  }

  TEST_CASE("--amp resolves: off without measuring, a fixed precision measured against fp32, auto to the fastest") {
    set_verbosity(Verbosity::kQuiet);
    const auto train_data = test::linear_task(512, 20, 4, 1);
    const auto model = test::linear_model(20, 4);
    const auto weight_before = model.attr("weight").toTensor().clone();
    TrainConfig config;
    config.batch_size = 32;
    const auto objective = cross_entropy_objective();

    config.amp = AmpRequest::kOff;
    auto off = choose_precision(model, train_data, config, objective);
    CHECK((off.chosen == Precision::kFloat32));
    CHECK(off.samples_per_s.empty());

    config.amp = AmpRequest::kBFloat16;
    auto bf16 = choose_precision(model, train_data, config, objective);
    CHECK((bf16.chosen == Precision::kBFloat16));
    CHECK(bf16.samples_per_s.size() == 2);
    CHECK(bf16.speedup() > 0);

    config.amp = AmpRequest::kAuto;
    auto automatic = choose_precision(model, train_data, config, objective);
    REQUIRE(automatic.samples_per_s.size() == 3);
    const auto& rates = automatic.samples_per_s;
    const double fastest_low = std::max(rates.at("fp16"), rates.at("bf16"));
    if (automatic.chosen == Precision::kFloat32) {
      CHECK(fastest_low <= rates.at("fp32") * 1.05);
    } else {
      CHECK(rates.at(precision_name(automatic.chosen)) == doctest::Approx(fastest_low));
    }
    // Measuring trains a copy: the model itself is untouched.
    CHECK(torch::equal(model.attr("weight").toTensor(), weight_before));

    CHECK(test::thrown_code([] { parse_amp("fp8"); }) == 2);
  }
}
