// Data-parallel training over c10d Gloo: ranks run as threads of this process sharing one store.
#include <doctest/doctest.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <cstdlib>
#include <functional>
#include <future>
#include <vector>

#include "lib/errors.h"
#include "lib/model/model.h"
#include "lib/train/data_parallel.h"
#include "lib/train/distill_objectives.h"
#include "lib/train/trainer.h"
#include "tests/unit/linear_task.h"

using namespace mopt;
using namespace mopt::train;

namespace {

constexpr std::chrono::milliseconds kTimeout{20000};

// Runs `body(group)` on `world` ranks at once, each in its own thread, and returns their results.
template <typename Result>
std::vector<Result> on_ranks(int world, const std::function<Result(DataParallel&)>& body) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::future<Result>> futures;
  for (int rank = 0; rank < world; ++rank) {
    futures.push_back(std::async(std::launch::async, [=] {
      DataParallel group(store, rank, world, kTimeout);
      return body(group);
    }));
  }
  std::vector<Result> results;
  for (auto& f : futures) results.push_back(f.get());
  return results;
}

// One copy of `initial` per rank, made here: cloning registers class types in the module's shared
// compilation unit, which two rank threads cloning at once corrupt (a heap abort now and then).
std::vector<torch::jit::Module> copies_for_ranks(const torch::jit::Module& initial, int world) {
  std::vector<torch::jit::Module> copies;
  for (int rank = 0; rank < world; ++rank) copies.push_back(clone_module(initial));
  return copies;
}

TrainConfig sgd_config() {
  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 30;  // 200 rows: 6 full batches and one of 20, split 10/10 (2 ranks) or 6/7/7 (3)
  config.optimizer.name = "sgd";
  config.optimizer.lr = 0.1;
  config.optimizer.momentum = 0.9;
  config.label = "test";
  return config;
}

}  // namespace

TEST_SUITE("data-parallel") {

TEST_CASE("a global batch is shared out in contiguous, near-equal parts") {
  auto parts = on_ranks<std::pair<int64_t, int64_t>>(3, [](DataParallel& g) {
    const auto part = g.shard(10);
    // A collective before returning: a rank that tore its group down while another was still
    // connecting made that one fail with "Connection closed by peer" (seen under ASan).
    g.main_values({0.0});
    return part;
  });
  CHECK(parts[0] == std::pair<int64_t, int64_t>{0, 3});
  CHECK(parts[1] == std::pair<int64_t, int64_t>{3, 6});
  CHECK(parts[2] == std::pair<int64_t, int64_t>{6, 10});
}

TEST_CASE("gradients are summed with each rank's weight, scalars summed, rows gathered, rank 0's values shared") {
  struct Seen {
    torch::Tensor grad_a, grad_b, gathered, broadcast;
    std::vector<double> sums, main;
  };
  auto seen = on_ranks<Seen>(2, [](DataParallel& g) {
    const double r = g.rank();
    auto a = torch::zeros({2, 3}, torch::requires_grad());
    auto b = torch::zeros({4}, torch::requires_grad());
    a.mutable_grad() = torch::full({2, 3}, r + 1);
    // b has no gradient on rank 1 (an unused parameter): it counts as zeros
    if (r == 0) b.mutable_grad() = torch::full({4}, 10.0);
    Seen s;
    s.sums = g.sum_gradients({a, b}, r == 0 ? 0.25 : 0.75, {r, 2 * r + 1});
    s.grad_a = a.grad().clone();
    s.grad_b = b.grad().clone();
    const auto [begin, end] = g.shard(5);
    s.gathered = g.gather_rows(torch::arange(begin, end, torch::kFloat).view({-1, 1}) * 10, 5);
    s.main = g.main_values({r + 7});
    auto t = torch::full({3}, r);
    g.broadcast_from_main({t});
    s.broadcast = t;
    return s;
  });
  for (const auto& s : seen) {
    CHECK(torch::allclose(s.grad_a, torch::full({2, 3}, 0.25 * 1 + 0.75 * 2)));
    CHECK(torch::allclose(s.grad_b, torch::full({4}, 2.5)));
    CHECK(s.sums == std::vector<double>{1, 4});
    CHECK(torch::equal(s.gathered, torch::arange(0, 50, 10, torch::kFloat).view({-1, 1})));
    CHECK(s.main == std::vector<double>{7});
    CHECK(torch::equal(s.broadcast, torch::zeros({3})));
  }
}

TEST_CASE("two or three ranks train the same model as one process at the same global batch") {
  const auto data = test::linear_task(200, 8, 4, 1);
  const auto val = test::linear_task(100, 8, 4, 2);
  torch::manual_seed(3);
  const auto initial = test::linear_model(8, 4);
  auto single = clone_module(initial);
  const auto single_result = train_model(single, {}, data, val, sgd_config(), cross_entropy_objective());

  for (int world : {2, 3}) {
    CAPTURE(world);
    struct Trained {
      torch::Tensor weight;
      TrainResult result;
    };
    auto models = copies_for_ranks(initial, world);
    auto ranks = on_ranks<Trained>(world, [&](DataParallel& g) {
      auto& model = models[static_cast<size_t>(g.rank())];
      auto config = sgd_config();
      config.data_parallel = std::shared_ptr<DataParallel>(&g, [](DataParallel*) {});  // owned by on_ranks
      auto result = train_model(model, {}, data, val, config, cross_entropy_objective());
      return Trained{model.attr("weight").toTensor().detach().clone(), result};
    });
    for (const auto& rank : ranks) {
      CHECK(torch::allclose(rank.weight, single.attr("weight").toTensor(), 1e-5, 1e-6));
      CHECK(rank.result.steps == single_result.steps);
      CHECK(rank.result.world_size == world);
      REQUIRE(rank.result.history.size() == 2);
      // Losses are summed over every rank's rows: the same epoch means as one process.
      CHECK(rank.result.history[1].train_loss.at("ce") == doctest::Approx(single_result.history[1].train_loss.at("ce")).epsilon(1e-5));
      CHECK(rank.result.best_val_accuracy == doctest::Approx(single_result.best_val_accuracy));
    }
  }
}

TEST_CASE("ranks with different settings refuse to train together") {
  const auto data = test::linear_task(200, 8, 4, 1);
  torch::manual_seed(3);
  const auto initial = test::linear_model(8, 4);
  auto models = copies_for_ranks(initial, 2);
  auto outcomes = on_ranks<std::string>(2, [&](DataParallel& g) -> std::string {
    auto& model = models[static_cast<size_t>(g.rank())];
    auto config = sgd_config();
    if (g.rank() == 1) config.optimizer.lr = 0.2;
    config.data_parallel = std::shared_ptr<DataParallel>(&g, [](DataParallel*) {});
    try {
      train_model(model, {}, data, Dataset{}, config, cross_entropy_objective());
      return "trained";
    } catch (const Error& e) {
      return e.what();
    }
  });
  CHECK(outcomes[1].find("differ from rank 0") != std::string::npos);
  // Rank 0 cannot know why rank 1 left; it must not train alone or hang.
  CHECK(outcomes[0].find("lost contact") != std::string::npos);
}

TEST_CASE("launcher environment fills in what the flags leave unset") {
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "12345", 1);
  auto spec = resolve_data_parallel({-1, -1, "", 0});
  CHECK(spec.world_size == 4);
  CHECK(spec.rank == 2);
  CHECK(spec.master_addr == "10.0.0.7");
  CHECK(spec.master_port == 12345);
  // Flags win over the environment.
  CHECK(resolve_data_parallel({1, 2, "127.0.0.1", 29500}).rank == 1);
  CHECK_THROWS_AS(resolve_data_parallel({5, -1, "", 0}), Error);  // rank 5 of a world of 4
  setenv("RANK", "x", 1);
  CHECK_THROWS_AS(resolve_data_parallel({-1, -1, "", 0}), Error);
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
  CHECK_FALSE(resolve_data_parallel({-1, -1, "", 0}).enabled());
}

}  // TEST_SUITE
