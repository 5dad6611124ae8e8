// Distillation recipes (lib/train): the soft-target losses against hand-computed values, batch
// augmentation, and the auto recipe's search, baseline and shipping decision.
#include <doctest/doctest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "lib/train/augment.h"
#include "lib/distill/distill_workflow.h"
#include "lib/train/losses.h"
#include "lib/util/log.h"
#include "tests/unit/linear_task.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::train;

namespace {

// Two rows of three classes; the expected values below were computed with NumPy from the
// papers' definitions (scripts-free: the numbers are the reference).
const torch::Tensor kStudent = torch::tensor({{1.0, 2.0, 0.5}, {0.2, -1.0, 3.0}});
const torch::Tensor kTeacher = torch::tensor({{0.5, 3.0, -1.0}, {1.0, 0.0, 2.0}});
const torch::Tensor kLabels = torch::tensor({1, 2}, torch::kLong);

using test::linear_model;
using test::linear_task;

}  // namespace

TEST_SUITE("distill") {
  TEST_CASE("each soft-target loss matches its hand-computed value") {
    CHECK(distillation_loss(kStudent, kTeacher, 2).item<double>() == doctest::Approx(0.4315852712222986).epsilon(1e-5));
    CHECK(logit_standardized_loss(kStudent, kTeacher, 2).item<double>() ==
          doctest::Approx(0.0078046263513228895).epsilon(1e-4));
    CHECK(decoupled_loss(kStudent, kTeacher, kLabels, 4, 8).item<double>() ==
          doctest::Approx(0.9626615981864818).epsilon(1e-5));
  }

  TEST_CASE("soft-target losses are zero when the student equals the teacher, and ls ignores logit scale") {
    CHECK(distillation_loss(kTeacher, kTeacher, 3).item<double>() == doctest::Approx(0).epsilon(1e-6));
    CHECK(std::abs(decoupled_loss(kTeacher, kTeacher, kLabels, 4, 8).item<double>()) < 1e-4);  // fp32 rounding
    // A student with the teacher's logit relations at 5x the scale and an offset: ls sees no difference.
    CHECK(logit_standardized_loss(kTeacher * 5 + 2, kTeacher, 2).item<double>() == doctest::Approx(0).epsilon(1e-6));
    CHECK(distillation_loss(kTeacher * 5 + 2, kTeacher, 2).item<double>() > 0.1);
  }

  TEST_CASE("the loss names parse, and dkd without labels is a usage error") {
    CHECK(parse_kd_loss("dkd") == KdLoss::kDecoupled);
    CHECK(kd_loss_name(parse_kd_loss("ls")) == "ls");
    CHECK(test::thrown_code([] { parse_kd_loss("kl"); }) == 2);
    SoftTargets soft{KdLoss::kDecoupled, 4, 0.5, 8};
    CHECK(test::thrown_code([&] { soft_target_terms(kStudent, kTeacher, torch::Tensor(), soft); }) == 2);
    soft.alpha = 1.5;
    CHECK(test::thrown_code([&] { validate_soft_targets(soft); }) == 2);
  }

  TEST_CASE("shifts move the image content and fill with its background; flips mirror; both follow (seed, step)") {
    auto image = torch::zeros({1, 1, 8, 8}) - 1;  // background -1
    image.index_put_({0, 0, 4, 4}, 5.0);
    AugmentSpec spec = parse_augment("shift", 2, 0);
    for (int64_t step = 0; step < 6; ++step) {
      const auto out = augment_batch(image, spec, 0, step).inputs;
      CHECK(out.min().item<double>() == -1);      // no zero frame on a normalized image
      CHECK(out.max().item<double>() == 5);       // the bright pixel stays inside the crop
      const auto at = out.flatten().argmax().item<int64_t>();
      CHECK(std::abs(at / 8 - 4) <= 2);
      CHECK(std::abs(at % 8 - 4) <= 2);
    }
    CHECK(torch::equal(augment_batch(image, spec, 0, 3).inputs, augment_batch(image, spec, 0, 3).inputs));
    auto batch = torch::randn({16, 1, 8, 8});
    CHECK_FALSE(torch::equal(augment_batch(batch, spec, 0, 3).inputs, augment_batch(batch, spec, 0, 4).inputs));

    const auto flipped = augment_batch(batch, parse_augment("flip", 2, 0), 1, 0).inputs;
    int64_t mirrored = 0;
    for (int64_t i = 0; i < 16; ++i) {
      const bool same = torch::equal(flipped[i], batch[i]), mirror = torch::equal(flipped[i], batch[i].flip({2}));
      CHECK((same || mirror));
      mirrored += mirror;
    }
    CHECK(mirrored > 0);
    CHECK(mirrored < 16);
    CHECK(test::thrown_code([] { parse_augment("rotate", 2, 0); }) == 2);
  }

  TEST_CASE("mixup blends each row with a partner, its own row dominant") {
    auto batch = torch::randn({8, 3});
    const auto mixed = augment_batch(batch, parse_augment("none", 2, 0.4), 0, 0);
    REQUIRE(mixed.partner.defined());
    CHECK(mixed.lambda >= 0.5);
    CHECK(mixed.lambda <= 1.0);
    const auto expected = mixed.lambda * batch + (1 - mixed.lambda) * batch.index_select(0, mixed.partner);
    CHECK(torch::allclose(mixed.inputs, expected));
  }

  TEST_CASE("the auto recipe tries labels-only and every soft-target setting, then ships the better student") {
    set_verbosity(Verbosity::kQuiet);
    auto labelled = linear_task(1024, 20, 4, 7);
    auto teacher_module = linear_model(20, 4);
    TrainConfig config;
    config.epochs = 3;
    config.batch_size = 64;
    config.optimizer.lr = 0.05;
    train_model(teacher_module, {}, labelled, {}, config, cross_entropy_objective());
    teacher_module.eval();
    const auto teacher = Model::from_torchscript(teacher_module);

    DistillRequest settings;
    settings.recipe = Recipe::kAuto;
    settings.train = config;
    settings.train.optimizer.lr = 0.01;
    const auto train = linear_task(1000, 20, 4, 8);
    const auto val = linear_task(300, 20, 4, 9);
    const auto outcome = run_distill(teacher, linear_model(20, 4), train, val, settings);
    const auto expected = recipe_candidates(settings.soft);
    REQUIRE(outcome.candidates.size() == expected.size());
    CHECK(outcome.candidates.front().name() == "labels-only");
    for (const auto& c : outcome.candidates) CHECK(c.holdout_accuracy > 0.25);  // every candidate learned something
    REQUIRE(outcome.baseline.has_value());
    CHECK(outcome.shipped().val_accuracy >= outcome.baseline->val_accuracy);
    CHECK(outcome.shipped().val_accuracy >= outcome.distilled.val_accuracy);
    const auto report = outcome.to_json();
    CHECK(report["recipe"]["mode"] == "auto");
    CHECK(report["recipe"]["candidates"].size() == expected.size());
    CHECK(report["verdict"].get<std::string>().size() > 20);
  }

  TEST_CASE("a distilled student that loses to the labels-only baseline is not shipped unless asked") {
    set_verbosity(Verbosity::kQuiet);
    // A teacher that is wrong on purpose (a different task): its soft targets can only hurt.
    auto misleading = linear_task(512, 20, 4, 3);
    misleading.labels = (misleading.labels + 1) % 4;
    auto teacher_module = linear_model(20, 4);
    TrainConfig config;
    config.epochs = 4;
    config.batch_size = 64;
    config.optimizer.lr = 0.05;
    train_model(teacher_module, {}, misleading, {}, config, cross_entropy_objective());
    teacher_module.eval();
    const auto teacher = Model::from_torchscript(teacher_module);

    DistillRequest settings;
    settings.soft = {KdLoss::kVanilla, 2, 0.9, 8};
    settings.baseline_ce = true;
    settings.train = config;
    const auto train = linear_task(1000, 20, 4, 8), val = linear_task(300, 20, 4, 9);
    const auto best = run_distill(teacher, linear_model(20, 4), train, val, settings);
    REQUIRE(best.gain_points().has_value());
    CHECK(*best.gain_points() < 0);
    CHECK(best.shipped_baseline);
    CHECK(best.verdict().find("LOST") != std::string::npos);

    settings.ship_better = false;
    const auto as_asked = run_distill(teacher, linear_model(20, 4), train, val, settings);
    CHECK_FALSE(as_asked.shipped_baseline);
    CHECK(as_asked.shipped().val_accuracy == doctest::Approx(as_asked.distilled.val_accuracy));
  }
}
