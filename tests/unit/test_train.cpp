// The shared training loop (lib/train): schedules, losses, learning, exact resume after an
// interruption, checkpoint checks, feature taps and distillation's input checks.
#include <doctest/doctest.h>

#include <filesystem>

#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>

#include <fstream>

#include "lib/eval/evaluate.h"
#include "lib/train/checkpoint.h"
#include "lib/distill/distill_workflow.h"
#include "lib/train/feature_taps.h"
#include "lib/train/losses.h"
#include "lib/train/lr_schedule.h"
#include "lib/train/trainer.h"
#include "lib/util/log.h"
#include "tests/unit/linear_task.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::train;

namespace {

using test::linear_model;
using test::linear_task;

TrainConfig quick_config(const std::filesystem::path& checkpoint = {}) {
  TrainConfig config;
  config.epochs = 3;
  config.batch_size = 64;
  config.optimizer.lr = 1e-3;
  config.checkpoint_path = checkpoint;
  return config;
}

bool same_weights(const torch::jit::Module& a, const torch::jit::Module& b) {
  auto wa = snapshot_weights(a), wb = snapshot_weights(b);
  if (wa.size() != wb.size()) return false;
  for (const auto& [name, tensor] : wa) {
    if (!torch::equal(tensor, wb.at(name))) return false;
  }
  return true;
}

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("learning-rate schedules start, peak and end where they should") {
    ScheduleSpec spec;
    CHECK(learning_rate_at(spec, 0.1, 50, 100, 10) == doctest::Approx(0.1));
    spec.kind = "cosine";
    CHECK(learning_rate_at(spec, 0.1, 0, 101, 10) == doctest::Approx(0.1));
    CHECK(learning_rate_at(spec, 0.1, 50, 101, 10) == doctest::Approx(0.05));
    CHECK(learning_rate_at(spec, 0.1, 100, 101, 10) == doctest::Approx(0.0));
    spec.kind = "step";
    spec.step_epochs = 2;
    CHECK(learning_rate_at(spec, 0.1, 19, 100, 10) == doctest::Approx(0.1));
    CHECK(learning_rate_at(spec, 0.1, 20, 100, 10) == doctest::Approx(0.01));
    spec.kind = "one-cycle";
    CHECK(learning_rate_at(spec, 0.1, 0, 101, 10) == doctest::Approx(0.004));
    CHECK(learning_rate_at(spec, 0.1, 30, 101, 10) == doctest::Approx(0.1));
    CHECK(learning_rate_at(spec, 0.1, 100, 101, 10) == doctest::Approx(1e-5));
    spec.kind = "warmup";
    CHECK(test::thrown_code([&] { validate_schedule(spec); }) == 2);
  }

  TEST_CASE("the distillation loss is T^2 * KL(teacher || student), zero when they agree") {
    auto teacher = torch::randn({8, 10}), student = torch::randn({8, 10});
    CHECK(distillation_loss(teacher, teacher, 3).item<double>() == doctest::Approx(0).epsilon(1e-6));
    auto reference = torch::kl_div(torch::log_softmax(student / 4, 1), torch::softmax(teacher / 4, 1), at::Reduction::Sum)
                         .item<double>() / 8 * 16;
    CHECK(distillation_loss(student, teacher, 4).item<double>() == doctest::Approx(reference).epsilon(1e-5));
  }

  TEST_CASE("training lowers the loss and learns a learnable task") {
    set_verbosity(Verbosity::kQuiet);
    auto train = linear_task(512, 20, 4, 1), val = linear_task(256, 20, 4, 1);
    auto model = linear_model(20, 4);
    const double before = evaluate_classifier(model, val, 128).first;
    auto config = quick_config();
    config.optimizer.lr = 0.05;
    auto result = train_model(model, {}, train, val, config, cross_entropy_objective());
    REQUIRE(result.history.size() == 3);
    CHECK(result.history.back().train_loss.at("ce") < result.history.front().train_loss.at("ce"));
    CHECK(result.best_val_accuracy > 0.8);
    CHECK(result.best_val_accuracy > before + 0.3);
    CHECK(evaluate_classifier(model, val, 128).first == doctest::Approx(result.best_val_accuracy));
  }

  TEST_CASE("early stopping ends the run after `patience` epochs without a better validation accuracy") {
    set_verbosity(Verbosity::kQuiet);
    auto train = linear_task(256, 20, 4, 1), val = linear_task(128, 20, 4, 2);
    auto model = linear_model(20, 4);
    auto config = quick_config();
    config.epochs = 6;
    config.patience = 2;
    config.optimizer.lr = 1e-12;  // the weights barely move: validation accuracy cannot improve after epoch 1
    auto result = train_model(model, {}, train, val, config, cross_entropy_objective());
    CHECK(result.early_stopped);
    CHECK(result.history.size() == 3);
    CHECK(result.best_epoch == 1);
  }

  TEST_CASE("a run that stopped early stays stopped when resumed from its checkpoint") {
    set_verbosity(Verbosity::kQuiet);
    auto dir = test::temp_dir("train-early");
    auto train = linear_task(256, 20, 4, 1), val = linear_task(128, 20, 4, 2);
    auto model = linear_model(20, 4);
    auto config = quick_config(dir / "run.ckpt");
    config.epochs = 6;
    config.patience = 2;
    config.optimizer.lr = 1e-12;
    train_model(model, {}, train, val, config, cross_entropy_objective());
    config.resume_path = dir / "run.ckpt";
    auto resumed = train_model(model, {}, train, val, config, cross_entropy_objective());
    CHECK(resumed.early_stopped);
    CHECK(resumed.steps == 0);
    CHECK(resumed.history.size() == 3);
    CHECK(resumed.samples_per_s > 0);  // totals of the whole run, not of this (empty) process
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("an interrupted run resumes exactly where it stopped (dropout and Adam state included)") {
    set_verbosity(Verbosity::kQuiet);
    at::set_num_threads(1);
    auto dir = test::temp_dir("train-resume");
    auto train = linear_task(300, 784, 10, 2), val = linear_task(100, 784, 10, 3);  // 5 batches/epoch, last one short
    const auto initial = torch::jit::load(test::fixture("mlp.pt").string());     // has dropout

    auto straight = clone_module(initial);
    train_model(straight, {}, train, val, quick_config(), cross_entropy_objective());

    auto interrupted = clone_module(initial);
    auto config = quick_config(dir / "run.ckpt");
    config.stop_after_steps = 7;  // epoch 2, batch 2 of 5
    CHECK(test::thrown_code([&] { train_model(interrupted, {}, train, val, config, cross_entropy_objective()); }) == 130);
    REQUIRE(std::filesystem::exists(dir / "run.ckpt"));
    CHECK_FALSE(same_weights(interrupted, straight));

    auto resumed = clone_module(initial);
    config.stop_after_steps = 0;
    config.resume_path = dir / "run.ckpt";
    auto result = train_model(resumed, {}, train, val, config, cross_entropy_objective());
    CHECK(result.resumed);
    CHECK(result.steps == 15 - 7);
    CHECK(result.history.size() == 3);
    CHECK(same_weights(resumed, straight));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a checkpoint from another run or a corrupt one is refused") {
    set_verbosity(Verbosity::kQuiet);
    auto dir = test::temp_dir("train-ckpt");
    auto train = linear_task(128, 20, 4, 1);
    auto model = linear_model(20, 4);
    auto config = quick_config(dir / "run.ckpt");
    config.epochs = 1;
    train_model(model, {}, train, {}, config, cross_entropy_objective());
    config.resume_path = dir / "run.ckpt";
    config.batch_size = 32;  // another run
    CHECK(test::thrown_code([&] { train_model(model, {}, train, {}, config, cross_entropy_objective()); }) == 2);
    {
      std::ofstream(dir / "bad.ckpt") << "not a checkpoint";
    }
    config.resume_path = dir / "bad.ckpt";
    CHECK(test::thrown_code([&] { train_model(model, {}, train, {}, config, cross_entropy_objective()); }) == 4);
    config.resume_path = dir / "missing.ckpt";
    CHECK(test::thrown_code([&] { train_model(model, {}, train, {}, config, cross_entropy_objective()); }) == 4);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("feature taps hand over a layer's output with its autograd history") {
    auto model = torch::jit::load(test::committed("fashion_cnn.pt").string());
    insert_feature_taps(model, {"features.3", "classifier.2"}, 5);
    FeatureCapture capture;
    auto out = forward_tensor(model, {torch::randn({2, 1, 28, 28})});
    CHECK(out.sizes() == torch::IntArrayRef({2, 10}));
    CHECK(capture.get(5).sizes() == torch::IntArrayRef({2, 32, 14, 14}));
    CHECK(capture.get(6).sizes() == torch::IntArrayRef({2, 128}));
    capture.get(5).sum().backward();  // gradients reach the first conv through the tapped value
    CHECK(model.attr("features").toModule().attr("0").toModule().attr("weight").toTensor().grad().defined());
    auto other = torch::jit::load(test::committed("fashion_cnn.pt").string());
    CHECK(test::thrown_code([&] { insert_feature_taps(other, {"features.42"}); }) == 2);
  }

  TEST_CASE("distillation refuses mismatched models and data before training") {
    set_verbosity(Verbosity::kQuiet);
    const auto teacher = Model::load(test::fixture("mlp.pt"));  // 784 -> 10
    auto train = linear_task(64, 784, 10, 4);
    CHECK(check_distillation_inputs(teacher, linear_model(784, 10), train, {}) == 10);
    CHECK(test::thrown_code([&] { check_distillation_inputs(teacher, linear_model(784, 12), train, {}); }) == 4);
    CHECK(test::thrown_code([&] { check_distillation_inputs(teacher, linear_model(100, 10), train, {}); }) == 4);
    auto bad_labels = train;
    bad_labels.labels = bad_labels.labels.clone();
    bad_labels.labels[0] = 10;
    CHECK(test::thrown_code([&] { check_distillation_inputs(teacher, linear_model(784, 10), bad_labels, {}); }) == 4);
    auto wrong_shape = linear_task(64, 100, 10, 4);
    CHECK(test::thrown_code([&] { check_distillation_inputs(teacher, linear_model(100, 10), wrong_shape, {}); }) == 4);
  }

  TEST_CASE("a student distilled on unlabelled data learns its teacher's decisions") {
    set_verbosity(Verbosity::kQuiet);
    auto labelled = linear_task(1024, 20, 4, 7);
    auto teacher_module = linear_model(20, 4);
    auto config = quick_config();
    config.optimizer.lr = 0.05;
    train_model(teacher_module, {}, labelled, {}, config, cross_entropy_objective());
    teacher_module.eval();
    const auto teacher = Model::from_torchscript(teacher_module);

    auto train = linear_task(512, 20, 4, 8);
    train.labels = torch::Tensor();  // pure soft targets
    auto val = linear_task(256, 20, 4, 9);
    val.labels = run_model_batched(teacher, {val.inputs}, 256).argmax(1);  // accuracy = agreement with the teacher
    DistillRequest settings;
    settings.train = config;
    settings.train.epochs = 8;
    auto outcome = run_distill(teacher, linear_model(20, 4), train, val, settings);
    CHECK(outcome.teacher_val_accuracy == doctest::Approx(1.0));
    CHECK(outcome.distilled.val_accuracy > 0.9);
    CHECK(outcome.distilled.val_accuracy > outcome.student_val_accuracy_before + 0.3);
    CHECK(outcome.distilled.result.history.back().train_loss.count("ce") == 0);
  }
}
