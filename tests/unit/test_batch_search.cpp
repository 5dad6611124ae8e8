// `mopt bench --batch auto`: when the search doubles, when it stops (memory over or expected over the
// budget, a throughput plateau, a size the model does not run) and which batch it reports.

#include <stdexcept>
#include <vector>

#include "lib/bench/batch_search.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::contains;
using mopt::test::thrown_code;
using nlohmann::json;

namespace {

BatchSearchRules budget(double mb) {
  BatchSearchRules rules;
  rules.budget_mb = mb;
  return rules;
}

// A model whose throughput and memory per batch come from tables (batch -> value).
struct FakeModel {
  std::function<double(int64_t)> samples_per_s;
  std::function<double(int64_t)> peak_mb;
  int64_t fails_from = 0;  ///< sizes from this one throw, as a fixed-batch model does
  std::vector<int64_t> measured;

  json operator()(int64_t batch) {
    measured.push_back(batch);
    if (fails_from > 0 && batch >= fails_from) throw std::runtime_error("shape '[1, 784]' is invalid for input of size 1568");
    return {{"batch", batch}, {"throughput", {{"samples_per_s", samples_per_s(batch)}}}, {"memory", {{"peak_mb", peak_mb(batch)}}}};
  }
};

json run(FakeModel& model, const BatchSearchRules& rules, json& rows) {
  return search_batch([&](int64_t b) { return model(b); }, [](const json& row) { return row["memory"]["peak_mb"].get<double>(); },
                      rules, rows);
}

}  // namespace

TEST_SUITE("bench-batch-search") {
  TEST_CASE("doubles while throughput rises, stops two sizes after the last gain and reports the best") {
    // Throughput saturates at 16: 32 and 64 gain under 3%.
    FakeModel model{[](int64_t b) { return b <= 16 ? 100.0 * static_cast<double>(b) : 1600.0 + static_cast<double>(b) / 4; },
                    [](int64_t b) { return 400.0 + 10.0 * static_cast<double>(b); }};
    json rows = json::array();
    auto search = run(model, budget(100000), rows);
    CHECK(model.measured == std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64});
    CHECK(rows.size() == 7);
    CHECK(search["best_batch"] == 64);  // the most samples/s measured, even by a hair
    CHECK(contains(search["stopped_by"].get<std::string>(), "throughput stopped rising"));
    CHECK(contains(search["stopped_by"].get<std::string>(), "above 16"));
  }

  TEST_CASE("does not run a size whose extrapolated memory exceeds the budget") {
    // 100 MB per sample over a 400 MB base: batch 8 would need ~1200 MB against a 1000 MB budget.
    FakeModel model{[](int64_t b) { return 100.0 * static_cast<double>(b); },
                    [](int64_t b) { return 400.0 + 100.0 * static_cast<double>(b); }};
    json rows = json::array();
    auto search = run(model, budget(1000), rows);
    CHECK(model.measured == std::vector<int64_t>{1, 2, 4});
    CHECK(search["best_batch"] == 4);
    CHECK(contains(search["stopped_by"].get<std::string>(), "batch 8 would need about 1200 MB"));
    for (const auto& t : search["tried"]) CHECK(t["fits"] == true);
  }

  TEST_CASE("a size that peaks over the budget is measured, marked, and not the best") {
    // Memory jumps at batch 4 (a workspace), past what batches 1 and 2 predicted.
    FakeModel model{[](int64_t b) { return 100.0 * static_cast<double>(b); },
                    [](int64_t b) { return b < 4 ? 400.0 + static_cast<double>(b) : 5000.0; }};
    json rows = json::array();
    auto search = run(model, budget(1000), rows);
    CHECK(model.measured == std::vector<int64_t>{1, 2, 4});
    CHECK(search["tried"][2]["fits"] == false);
    CHECK(search["best_batch"] == 2);
    CHECK(contains(search["stopped_by"].get<std::string>(), "batch 4 peaked at 5000 MB, over the budget of 1000 MB"));
  }

  TEST_CASE("no size fits: best batch 0") {
    FakeModel model{[](int64_t) { return 10.0; }, [](int64_t) { return 2000.0; }};
    json rows = json::array();
    auto search = run(model, budget(1000), rows);
    CHECK(model.measured == std::vector<int64_t>{1});
    CHECK(search["best_batch"] == 0);
  }

  TEST_CASE("a size the model does not run ends the search; batch 1 failing is the command's failure") {
    FakeModel fixed{[](int64_t b) { return 100.0 * static_cast<double>(b); }, [](int64_t) { return 400.0; }, 2};
    json rows = json::array();
    auto search = run(fixed, budget(100000), rows);
    CHECK(rows.size() == 1);
    CHECK(search["best_batch"] == 1);
    CHECK(contains(search["stopped_by"].get<std::string>(), "batch 2 does not run: shape '[1, 784]' is invalid"));

    FakeModel broken{[](int64_t) { return 1.0; }, [](int64_t) { return 1.0; }, 1};
    json none = json::array();
    CHECK_THROWS_AS(run(broken, budget(100000), none), std::runtime_error);
  }

  TEST_CASE("stops at the largest batch it tries") {
    FakeModel model{[](int64_t b) { return 100.0 * static_cast<double>(b); }, [](int64_t) { return 1.0; }};
    auto rules = budget(100000);
    rules.max_batch = 8;
    json rows = json::array();
    auto search = run(model, rules, rows);
    CHECK(model.measured == std::vector<int64_t>{1, 2, 4, 8});
    CHECK(search["best_batch"] == 8);
  }

  TEST_CASE("--max-memory: a fraction of the device or a size") {
    CHECK(memory_budget_mb("0.9", 1000) == doctest::Approx(900));
    CHECK(memory_budget_mb("1", 1000) == doctest::Approx(1000));
    CHECK(memory_budget_mb("512MB", 1000) == doctest::Approx(512));
    CHECK(memory_budget_mb("4GB", 1000) == doctest::Approx(4096));
    CHECK(memory_budget_mb("1.5GiB", 1000) == doctest::Approx(1536));
    for (const char* bad : {"0", "-0.5", "1.5", "90%", "lots", "4TB", ""}) {
      CAPTURE(bad);
      CHECK(thrown_code([&] { memory_budget_mb(bad, 1000); }) == 2);
    }
  }
}
