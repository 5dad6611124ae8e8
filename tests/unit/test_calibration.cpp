// Activation calibrators for static quantization, checked against ranges computed by hand.
#include <cmath>
#include <limits>

#include "calibration/calibrator.h"
#include "calibration/entropy_calibrator.h"
#include "calibration/histogram.h"
#include "calibration/mse_calibrator.h"
#include "calibration/qparams.h"
#include "test_helpers.h"

using namespace mopt;

namespace {

torch::Tensor values(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

torch::Tensor ramp(int64_t first, int64_t count) { return torch::arange(first, first + count, torch::kFloat); }

// One million N(0, 1) values in ten batches, then a single batch holding one outlier per side.
template <typename Observe>
void gaussian_with_outliers(Observe&& observe, double outlier) {
  torch::manual_seed(7);
  for (int b = 0; b < 10; ++b) observe(torch::randn({100, 1000}));
  observe(values({outlier, -outlier}));
}

Range calibrate(const std::string& name, const std::vector<torch::Tensor>& batches, CalibratorOptions options = {}) {
  auto c = make_calibrator(name, options);
  for (const auto& b : batches) c->observe(b);
  return c->range();
}

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

}  // namespace

TEST_SUITE("calibration") {
  TEST_CASE("histogram: the first batch sets the range; growth merges whole bins and keeps every count") {
    StreamingHistogram h(4);
    CHECK(h.empty());
    h.add(values({0, 1, 2, 3}));
    // Width 0.75: 0 -> bin 0, 1 -> 1, 2 -> 2, 3 (the upper edge) -> the last bin.
    CHECK(h.min() == 0);
    CHECK(h.max() == doctest::Approx(3));
    CHECK((h.counts() == std::vector<double>{1, 1, 1, 1}));

    // 7 needs ceil(7 / 0.75) = 10 old widths: factor ceil(10 / 4) = 3, range [0, 9], bins {0,1,2}->0, {3}->1.
    h.add(values({7}));
    CHECK(h.min() == 0);
    CHECK(h.max() == doctest::Approx(9));
    CHECK(h.bin_width() == doctest::Approx(2.25));
    CHECK((h.counts() == std::vector<double>{3, 1, 0, 1}));

    // -1 needs one width (2.25) below: factor ceil((1 + 4) / 4) = 2, range [-2.25, 15.75], old i -> (i + 1) / 2.
    h.add(values({-1}));
    CHECK(h.min() == doctest::Approx(-2.25));
    CHECK(h.max() == doctest::Approx(15.75));
    CHECK((h.counts() == std::vector<double>{4, 1, 1, 0}));
    CHECK(h.total() == 6);
    CHECK(sum_of(h.counts()) == 6);
    CHECK(h.data_min() == -1);
    CHECK(h.data_max() == 7);
  }

  TEST_CASE("histogram: a constant stream sits in bin 0 until the data spreads, then lands in its own bin") {
    StreamingHistogram h(4);
    h.add(values({5, 5, 5}));
    CHECK(h.bin_width() == 0);
    CHECK((h.counts() == std::vector<double>{3, 0, 0, 0}));
    h.add(values({1, 9}));
    // Range [1, 9], width 2: 1 -> 0, 5 -> 2, 9 -> last.
    CHECK(h.min() == 1);
    CHECK(h.bin_width() == doctest::Approx(2));
    CHECK((h.counts() == std::vector<double>{1, 0, 3, 1}));
  }

  TEST_CASE("histogram: non-finite values are ignored and integer tensors are accepted") {
    StreamingHistogram h(8);
    const double inf = std::numeric_limits<double>::infinity();
    h.add(values({std::nan(""), inf, -inf}));
    CHECK(h.empty());
    h.add(torch::tensor({1, 2, 3}, torch::kInt));
    CHECK(h.total() == 3);
    CHECK(h.data_min() == 1);
    CHECK(h.data_max() == 3);
  }

  TEST_CASE("histogram: float32 is read in place with the counts float64 gives; add_magnitudes bins |v| of non-zero v") {
    torch::manual_seed(3);
    auto batch = torch::randn({5000});
    StreamingHistogram single(64), wide(64);
    single.add(batch);
    wide.add(batch.to(torch::kDouble));
    CHECK(single.counts() == wide.counts());
    CHECK(single.data_max() == wide.data_max());

    StreamingHistogram magnitudes(4, /*anchor_at_zero=*/true);
    const double nan = std::nan("");
    magnitudes.add_magnitudes(values({-3, 0, 0, 1, nan, 2}));
    // |v| of -3, 1, 2 over [0, 3]: width 0.75, so 1 -> bin 1, 2 -> bin 2, 3 -> the last; the zeros and NaN are left out.
    CHECK(magnitudes.total() == 3);
    CHECK(magnitudes.data_min() == 1);
    CHECK((magnitudes.counts() == std::vector<double>{0, 1, 1, 1}));
  }

  TEST_CASE("histogram: many batches with a growing range keep the bin count and the total") {
    StreamingHistogram h(64);
    torch::manual_seed(1);
    double added = 0;
    for (int k = 1; k <= 50; ++k) {
      auto batch = torch::randn({1000}) * k + (k % 2 ? k : -k);
      h.add(batch);
      added += 1000;
      REQUIRE(h.bins() == 64);
      REQUIRE(h.counts().size() == 64);
      CHECK(h.total() == added);
      CHECK(sum_of(h.counts()) == doctest::Approx(added));
      CHECK(h.min() <= h.data_min());
      CHECK(h.max() >= h.data_max());
    }
  }

  TEST_CASE("histogram: memory stays at `bins` counters over 200 batches of 100k values") {
    StreamingHistogram h(2048);
    torch::manual_seed(2);
    for (int b = 0; b < 200; ++b) {
      h.add(torch::randn({100000}) * (1.0 + b / 20.0));
      REQUIRE(h.counts().size() == 2048);
    }
    CHECK(h.counts().capacity() == 2048);
    CHECK(h.total() == 200.0 * 100000);
    CHECK(sum_of(h.counts()) == doctest::Approx(200.0 * 100000));
  }

  TEST_CASE("histogram: quantiles of a uniform ramp interpolate within bins") {
    StreamingHistogram h(2048);
    h.add(ramp(0, 10000));
    CHECK(h.quantile(0.99) == doctest::Approx(9899).epsilon(5.0 / 9899));
    CHECK(h.quantile(0.5) == doctest::Approx(4999.5).epsilon(5.0 / 4999.5));
    CHECK(h.quantile(0) == 0);
    CHECK(h.quantile(1) == 9999);
  }

  TEST_CASE("minmax: running extremes across observe() calls") {
    auto c = make_calibrator("minmax", {});
    CHECK(c->name() == "minmax");
    c->observe(values({1, 2, 3}));
    CHECK(c->range().min == 1);
    CHECK(c->range().max == 3);
    c->observe(torch::tensor({{-4.0f, 0.5f}, {2.0f, std::nanf("")}}));
    c->observe(torch::full({1, 1}, 10.0));
    c->observe(torch::empty({0}));
    CHECK(c->range().min == -4);
    CHECK(c->range().max == 10);
  }

  TEST_CASE("moving-average: the first batch initialises, later batches move by the averaging constant") {
    CalibratorOptions options;
    options.averaging_constant = 0.5;
    auto c = make_calibrator("moving-average", options);
    c->observe(values({0, 3, 10}));
    CHECK(c->range().min == 0);
    CHECK(c->range().max == 10);
    c->observe(values({-2, 4}));  // min 0 + 0.5 * (-2 - 0) = -1, max 10 + 0.5 * (4 - 10) = 7
    CHECK(c->range().min == doctest::Approx(-1));
    CHECK(c->range().max == doctest::Approx(7));
    c->observe(values({2, 12}));  // min -1 + 0.5 * 3 = 0.5, max 7 + 0.5 * 5 = 9.5
    CHECK(c->range().min == doctest::Approx(0.5));
    CHECK(c->range().max == doctest::Approx(9.5));

    // Default constant 0.01: [0, 10] then [-10, 20] -> [-0.1, 10.1].
    auto d = make_calibrator("moving-average", {});
    d->observe(values({0, 10}));
    d->observe(values({-10, 20}));
    CHECK(d->range().min == doctest::Approx(-0.1));
    CHECK(d->range().max == doctest::Approx(10.1));
  }

  TEST_CASE("percentile: a uniform ramp 0..9999 at the 99th percentile keeps min 0 and max about 9899") {
    CalibratorOptions options;
    options.percentile = 99;
    auto r = calibrate("percentile", {ramp(0, 2500), ramp(7500, 2500), ramp(2500, 5000)}, options);
    CHECK(r.min == 0);  // non-negative data: the low side stays at 0
    CHECK(r.max == doctest::Approx(9899).epsilon(5.0 / 9899));

    auto signed_range = calibrate("percentile", {ramp(-5000, 10000)}, options);
    CHECK(signed_range.min == doctest::Approx(-4900).epsilon(5.0 / 4900));
    CHECK(signed_range.max == doctest::Approx(4899).epsilon(5.0 / 4899));
  }

  TEST_CASE("percentile: a few huge outliers fall outside the 99.99% range") {
    torch::manual_seed(3);
    auto r = calibrate("percentile", {torch::randn({100000}), values({1000, 1000, 1000, -1000, -1000})});
    CHECK(r.max < 10);
    CHECK(r.max > 2);
    CHECK(r.min > -10);
    CHECK(r.min < -2);
  }

  TEST_CASE("entropy: Gaussian data with rare outliers gets a symmetric range far tighter than min-max") {
    auto c = make_calibrator("entropy", {});
    gaussian_with_outliers([&](const torch::Tensor& t) { c->observe(t); }, 50);
    auto r = c->range();
    MESSAGE("entropy range: [" << r.min << ", " << r.max << "]");
    CHECK(r.min == doctest::Approx(-r.max));
    CHECK(r.max >= 3);  // keeps at least 3 sigma (about 4.3 with this seed)
    CHECK(r.max <= 8);  // min-max would say 50
  }

  TEST_CASE("entropy: uniform data keeps nearly the full range, one-sided for non-negative data") {
    torch::manual_seed(4);
    auto positive = calibrate("entropy", {torch::rand({500000}), torch::rand({500000})});
    CHECK(positive.min == 0);
    CHECK(positive.max >= 0.95);
    CHECK(positive.max <= 1);

    auto symmetric = calibrate("entropy", {torch::rand({1000000}) * 2 - 1});
    CHECK(symmetric.max >= 0.95);
    CHECK(symmetric.min == doctest::Approx(-symmetric.max));
  }

  TEST_CASE("entropy: post-ReLU zeros do not pull the threshold down") {
    torch::manual_seed(6);
    auto gaussian = torch::randn({400000});
    auto half = calibrate("entropy", {torch::relu(gaussian)});            // half the values exactly 0
    auto positive = calibrate("entropy", {torch::abs(gaussian).clamp_min(1e-6)});  // the same tail, no zeros
    MESSAGE("post-ReLU: [0, " << half.max << "], without zeros: [0, " << positive.max << "]");
    CHECK(half.min == 0);
    CHECK(half.max >= 3);  // keeps at least 3 sigma of the positive half
    CHECK(half.max == doctest::Approx(positive.max).epsilon(0.15));
  }

  TEST_CASE("entropy: a spike at one value (a normalized image's background) does not clip the rest") {
    torch::manual_seed(7);
    // 80% background at -0.81, 20% foreground spread up to 2.02: Fashion-MNIST normalized by 0.286/0.353.
    auto background = torch::full({800000}, -0.81f);
    auto foreground = torch::rand({200000}) * 2.83f - 0.81f;
    auto r = calibrate("entropy", {torch::cat({background, foreground})});
    MESSAGE("range: [" << r.min << ", " << r.max << "]");
    CHECK(r.max >= 0.99 * 2.02);  // the bright pixels survive (clipping at 0.81 erased them)
    // and the range stops where the data does: [-T, T] went down to -2.02, half the grid on nothing
    CHECK(r.min == doctest::Approx(-0.81));
  }

  TEST_CASE("entropy: the divergence is 0 when every level holds one bin and nothing is clipped") {
    std::vector<double> counts{5, 1, 0, 7};
    CHECK(entropy_candidate_divergence(counts, 4, 4) == doctest::Approx(0));
    // Clipping at 3 bins folds the 7 outliers into bin 2, where Q (from unclipped counts) has nothing.
    CHECK(entropy_candidate_divergence(counts, 3, 3) > 1);
    CHECK(std::isinf(entropy_candidate_divergence(counts, 2, 3)));
  }

  TEST_CASE("mse: Gaussian data with rare outliers gets a range far tighter than min-max") {
    auto c = make_calibrator("mse", {});
    gaussian_with_outliers([&](const torch::Tensor& t) { c->observe(t); }, 50);
    auto r = c->range();
    MESSAGE("mse range: [" << r.min << ", " << r.max << "]");
    // Clipping one outlier per side at T costs (50 - T)^2 each, rounding costs about 1e6 * (2T/255)^2 / 12;
    // the sum is smallest near T = 14, far inside min-max's 50 and well past 3 sigma.
    CHECK(r.max >= 3);
    CHECK(r.min <= -3);
    CHECK(r.max <= 20);
    CHECK(r.min >= -20);
  }

  TEST_CASE("mse: uniform data keeps nearly the full range; the chosen range beats the full one") {
    torch::manual_seed(5);
    MseCalibrator c(2048, 256);
    c.observe(torch::rand({1000000}));
    auto r = c.range();
    CHECK(r.min == 0);
    CHECK(r.max >= 0.95);
    CHECK(r.max <= 1);

    auto symmetric = calibrate("mse", {torch::rand({1000000}) * 2 - 1});
    CHECK(symmetric.min <= -0.95);
    CHECK(symmetric.max >= 0.95);

    // Expected error by hand for [0, 1] on U(0, 1): rounding only, n * (1/255)^2 / 12.
    CHECK(c.expected_error({0, 1}) == doctest::Approx(1e6 / (255.0 * 255.0 * 12)).epsilon(0.01));
    CHECK(c.expected_error(r) <= c.expected_error({0, 1}));
  }

  TEST_CASE("calibrators on a constant stream return the point (with 0 in the quantized range)") {
    for (const auto& name : calibrator_names()) {
      CAPTURE(name);
      auto r = calibrate(name, {torch::full({10}, 2.0), torch::full({3}, 2.0)});
      CHECK(r.max == doctest::Approx(2));
      CHECK(r.min <= 2);
      CHECK(r.min >= 0);
    }
  }

  TEST_CASE("choose_qparams: PyTorch's affine and symmetric formulas, computed by hand") {
    // [0, 1] quint8: scale 1/255, zero point 0 - round(0) = 0.
    auto a = choose_qparams({0, 1}, 0, 255, false);
    CHECK(a.scale == doctest::Approx(1.0 / 255));
    CHECK(a.zero_point == 0);
    // [-1, 1] quint8: scale 2/255. Exactly, -1 / scale = -127.5 (a tie); in float32, as PyTorch computes it,
    // 2/255 rounds up to 0.00784313772 and -1 / scale = -127.499992, which rounds to -127: zero point 127.
    auto b = choose_qparams({-1, 1}, 0, 255, false);
    CHECK(b.scale == doctest::Approx(2.0 / 255));
    CHECK(b.scale == static_cast<double>(2.0f / 255.0f));
    CHECK(b.zero_point == 127);
    // Same range in qint8: -128 - (-127) = -1.
    CHECK(choose_qparams({-1, 1}, -128, 127, false).zero_point == -1);
    // [-1, 3]: scale 4/255, -1 / scale = -63.75 rounds to -64: zero point 64.
    CHECK(choose_qparams({-1, 3}, 0, 255, false).zero_point == 64);
    // [-0.5, 2]: scale 2.5/255, zero point round(0.5 * 255 / 2.5) = 51.
    auto c = choose_qparams({-0.5, 2}, 0, 255, false);
    CHECK(c.scale == doctest::Approx(2.5 / 255));
    CHECK(c.zero_point == 51);
    // The range is widened to hold 0: [2, 5] -> [0, 5], [-3, -1] -> [-3, 0] (zero point at the top).
    CHECK(choose_qparams({2, 5}, 0, 255, false).scale == doctest::Approx(5.0 / 255));
    CHECK(choose_qparams({2, 5}, 0, 255, false).zero_point == 0);
    CHECK(choose_qparams({-3, -1}, 0, 255, false).scale == doctest::Approx(3.0 / 255));
    CHECK(choose_qparams({-3, -1}, 0, 255, false).zero_point == 255);
    // Symmetric [-2, 1]: scale = 2 * max(|-2|, |1|) / 255 = 4/255; zero point 0 for qint8, 128 for quint8.
    auto s = choose_qparams({-2, 1}, -128, 127, true);
    CHECK(s.scale == doctest::Approx(4.0 / 255));
    CHECK(s.zero_point == 0);
    auto su = choose_qparams({-2, 1}, 0, 255, true);
    CHECK(su.scale == doctest::Approx(4.0 / 255));
    CHECK(su.zero_point == 128);
    // An all-zero range gets float32 epsilon, never a zero scale.
    CHECK(choose_qparams({0, 0}, 0, 255, false).scale == doctest::Approx(std::numeric_limits<float>::epsilon()));
    CHECK(test::thrown_code([] { choose_qparams({0, 1}, 5, 5, false); }) == 2);
    CHECK(test::thrown_code([] { choose_qparams({1, 0}, 0, 255, false); }) == 1);
  }

  TEST_CASE("range() before any finite value is a runtime failure for every calibrator") {
    for (const auto& name : calibrator_names()) {
      CAPTURE(name);
      auto c = make_calibrator(name, {});
      CHECK(c->name() == name);
      CHECK(test::thrown_code([&] { c->range(); }) == 1);
      c->observe(values({std::nan("")}));
      CHECK(test::thrown_code([&] { c->range(); }) == 1);
    }
  }

  TEST_CASE("unknown names and bad options are usage errors that list what is valid") {
    CHECK((calibrator_names() == std::vector<std::string>{"minmax", "moving-average", "percentile", "entropy", "mse"}));
    CHECK(test::thrown_code([] { make_calibrator("kl", {}); }) == 2);
    try {
      make_calibrator("kl", {});
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("minmax, moving-average, percentile, entropy, mse") != std::string::npos);
    }
    CalibratorOptions bad_percentile;
    bad_percentile.percentile = 40;
    CHECK(test::thrown_code([&] { make_calibrator("percentile", bad_percentile); }) == 2);
    CalibratorOptions bad_constant;
    bad_constant.averaging_constant = 0;
    CHECK(test::thrown_code([&] { make_calibrator("moving-average", bad_constant); }) == 2);
    CalibratorOptions few_bins;
    few_bins.bins = 100;
    CHECK(test::thrown_code([&] { make_calibrator("entropy", few_bins); }) == 2);
    CHECK(test::thrown_code([] { StreamingHistogram h(0); }) == 2);
  }
}
