// Pruning: layer selection, unstructured / N:M masks, schedules, and structured channel pruning
// (shapes, tied residual groups, depthwise followers, training and save/load afterwards, and a
// golden check that pruning already-dead channels leaves the output unchanged).
#include <cmath>
#include <fstream>

#include "lib/prune/channel_dependencies.h"
#include "lib/prune/channel_pruning.h"
#include "lib/prune/channel_rounding.h"
#include "lib/prune/layer_selection.h"
#include "lib/prune/module_paths.h"
#include "lib/prune/slow_convolutions.h"
#include "lib/prune/unstructured.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using namespace mopt::prune;
using mopt::test::committed;
using mopt::test::fixture;
using mopt::test::temp_dir;
using mopt::test::thrown_code;

namespace {

torch::jit::Module load(const std::filesystem::path& path) {
  auto module = torch::jit::load(path.string());
  module.eval();
  return module;
}

torch::jit::Module fashion_cnn() { return load(committed("fashion_cnn.pt")); }
torch::Tensor fashion_input() { return read_npy(fixture("fashion_cnn.input.npy")); }

torch::Tensor weight(const torch::jit::Module& module, const std::string& layer) {
  return tensor_attr(submodule_at(module, layer), "weight");
}

int64_t out_channels(const torch::jit::Module& module, const std::string& layer) {
  return weight(module, layer).size(0);
}

int64_t parameter_count(const torch::jit::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

torch::Tensor forward(torch::jit::Module& module, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  return module.forward({input}).toTensor();
}

const ChannelGroup* group_of(const ChannelPruneResult& result, const std::string& producer) {
  for (const auto& group : result.groups) {
    if (std::find(group.producers.begin(), group.producers.end(), producer) != group.producers.end()) return &group;
  }
  return nullptr;
}

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  const auto path = temp_dir("prune") / name;
  std::ofstream(path) << text;
  return path;
}

// Zeroes the given output channels of a conv/linear (and the BN after it) so they output exactly 0.
void kill_channels(torch::jit::Module& module, const std::string& layer, const std::string& batch_norm,
                   const std::vector<int64_t>& channels) {
  torch::NoGradGuard no_grad;
  const auto index = torch::tensor(channels, torch::kLong);
  auto sub = submodule_at(module, layer);
  tensor_attr(sub, "weight").index_fill_(0, index, 0.0);
  tensor_attr(sub, "bias").index_fill_(0, index, 0.0);
  if (!batch_norm.empty()) {
    auto bn = submodule_at(module, batch_norm);
    tensor_attr(bn, "weight").index_fill_(0, index, 0.0);
    tensor_attr(bn, "bias").index_fill_(0, index, 0.0);
  }
}

// Makes `dead` scattered channels of every prunable group output exactly zero everywhere: the
// producers' and depthwise convs' filters and biases and the batch norms' affine terms. With
// amount = dead / C those are exactly the channels pruning removes, so the output must not change.
void kill_channels_in_every_group(torch::jit::Module& module, int64_t input_rank, double amount) {
  torch::NoGradGuard no_grad;
  for (const auto& group : analyze_channel_dependencies(module, input_rank)) {
    if (!group.reasons.empty()) continue;
    const int64_t channels = weight(module, group.producers.at(0)).size(0);
    const int64_t dead = channels - static_cast<int64_t>(std::ceil((1.0 - amount) * channels - 1e-9));
    std::vector<int64_t> chosen;
    for (int64_t c = 0; c < channels; ++c) {
      if ((c * 37 + 11) % channels < dead) chosen.push_back(c);  // 37 is coprime with every width here
    }
    const auto index = torch::tensor(chosen, torch::kLong);
    auto zero_rows = [&](const std::string& layer) {
      auto sub = submodule_at(module, layer);
      for (const char* attribute : {"weight", "bias"}) {
        auto tensor = tensor_attr(sub, attribute);
        if (tensor.defined()) tensor.index_fill_(0, index, 0.0);
      }
    };
    for (const auto& layer : group.producers) zero_rows(layer);
    for (const auto& layer : group.depthwise) zero_rows(layer);
    for (const auto& layer : group.batch_norms) zero_rows(layer);
  }
}

// A scripted-looking Conv2d (3x3, padding 1) built in C++, for graphs the fixtures do not have.
torch::jit::Module conv_module(int64_t in, int64_t out, int64_t groups = 1) {
  torch::jit::Module conv("Conv2d");
  conv.register_attribute("training", c10::BoolType::get(), false);
  conv.register_parameter("weight", torch::randn({out, in / groups, 3, 3}), false);
  conv.register_parameter("bias", torch::randn({out}), false);
  conv.define(fmt::format(R"(
    def forward(self, x):
        return torch.conv2d(x, self.weight, self.bias, [1, 1], [1, 1], [1, 1], {})
  )",
                          groups));
  return conv;
}

// A net of named convs with the given forward body (TorchScript source).
torch::jit::Module conv_net(const std::vector<std::pair<std::string, torch::jit::Module>>& convs,
                            const std::string& forward_body) {
  torch::jit::Module net("Net");
  net.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& [name, conv] : convs) net.register_module(name, conv);
  net.define("def forward(self, x):\n" + forward_body);
  return net;
}

const std::string& reasons_of(const ChannelPruneResult& result, const std::string& producer) {
  static const std::string none = "(no group)";
  const auto* group = group_of(result, producer);
  return group ? group->skipped_reason : none;
}

}  // namespace

TEST_SUITE("prune") {
  TEST_CASE("prunable layers are the convs and linears in module order, filtered by globs") {
    const auto resnet = load(fixture("resnet18.pt"));
    const auto all = prunable_layers(resnet, {});
    REQUIRE(all.size() == 21);  // 17 convs + 3 downsample convs + fc
    CHECK(all.front() == "conv1");
    CHECK(all[1] == "layer1.0.conv1");
    CHECK(all.back() == "fc");
    CHECK(std::count(all.begin(), all.end(), "layer2.0.downsample.0") == 1);

    const auto layer1 = prunable_layers(resnet, {{"layer1.*"}, {"*conv2"}});
    CHECK(layer1 == std::vector<std::string>{"layer1.0.conv1", "layer1.1.conv1"});
    CHECK(prunable_layers(resnet, {{}, {"fc"}}).size() == 20);
  }

  TEST_CASE("a pattern that matches no layer, or an empty selection, is a usage error") {
    const auto resnet = load(fixture("resnet18.pt"));
    CHECK(thrown_code([&] { prunable_layers(resnet, {{"layer9.*"}, {}}); }) == 2);
    CHECK(thrown_code([&] { prunable_layers(resnet, {{}, {"classifier"}}); }) == 2);
    CHECK(thrown_code([&] { prunable_layers(resnet, {{"fc"}, {"fc"}}); }) == 2);
    try {
      prunable_layers(resnet, {{"layer9.*"}, {}});
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("'layer9.*'") != std::string::npos);
      CHECK(std::string(e.what()).find("layer1.0.conv1") != std::string::npos);
    }
  }

  TEST_CASE("global magnitude pruning at 0.5 zeroes half of the selected weights") {
    auto resnet = load(fixture("resnet18.pt"));
    const auto layers = prunable_layers(resnet, {});
    std::vector<torch::Tensor> magnitudes;
    for (const auto& layer : layers) magnitudes.push_back(weight(resnet, layer).detach().abs().reshape({-1}));
    const auto masks = global_magnitude_masks(resnet, layers, 0.5);
    REQUIRE(masks.size() == layers.size());
    apply_masks(resnet, masks);
    int64_t zeros = 0, total = 0;
    for (const auto& layer : layers) {
      const auto w = weight(resnet, layer);
      zeros += (w == 0).sum().item<int64_t>();
      total += w.numel();
    }
    CHECK(std::abs(static_cast<double>(zeros) / total - 0.5) < 0.005);
    // One threshold across layers: no pruned |w| is larger than a kept one.
    std::vector<torch::Tensor> keep;
    for (const auto& layer : layers) keep.push_back(masks.at(layer).reshape({-1}));
    const auto all = torch::cat(magnitudes);
    const auto kept = torch::cat(keep);
    CHECK(all.masked_select(kept).min().item<double>() >= all.masked_select(kept.logical_not()).max().item<double>());
    CHECK(kept.logical_not().sum().item<int64_t>() == std::llround(0.5 * all.numel()));
    // The weights stay parameters that train.
    CHECK(weight(resnet, "conv1").requires_grad());
  }

  TEST_CASE("per-layer magnitude pruning at 0.3 zeroes 30% of every layer") {
    auto model = fashion_cnn();
    const auto layers = prunable_layers(model, {});
    std::map<std::string, double> amounts;
    for (const auto& layer : layers) amounts[layer] = 0.3;
    const auto masks = magnitude_masks(model, layers, amounts);
    apply_masks(model, masks);
    for (const auto& layer : layers) {
      const auto w = weight(model, layer);
      CAPTURE(layer);
      CHECK(std::abs(sparsity(w) - 0.3) <= 0.5 / w.numel() + 1e-12);
      // The survivors are the largest: min kept |w| >= max pruned original |w| is implied by masks.
      const auto mask = masks.at(layer);
      CHECK(mask.dtype() == torch::kBool);
      CHECK(mask.sizes() == w.sizes());
    }
    CHECK(thrown_code([&] { magnitude_masks(model, layers, {{"features.0", 0.3}}); }) == 2);  // missing layers
  }

  TEST_CASE("2:4 masks keep exactly the two largest of every four weights along the input dim") {
    auto model = fashion_cnn();
    const std::vector<std::string> layers = {"features.4", "classifier.2", "classifier.5"};
    std::map<std::string, torch::Tensor> original;
    for (const auto& layer : layers) original[layer] = weight(model, layer).detach().clone();
    const auto masks = n_m_masks(model, layers, 2, 4);
    apply_masks(model, masks);
    for (const auto& layer : layers) {
      CAPTURE(layer);
      const auto w = weight(model, layer).detach();
      // Conv [O, I, kh, kw] -> [O, kh, kw, I]; Linear [O, I] stays: runs of 4 along I.
      auto to_runs = [](const torch::Tensor& t) {
        return (t.dim() == 4 ? t.permute({0, 2, 3, 1}) : t).contiguous().reshape({-1, 4});
      };
      const auto runs = to_runs(w);
      const auto kept = to_runs(masks.at(layer));
      const auto magnitude = to_runs(original.at(layer)).abs();
      CHECK((runs == 0).sum(1).ge(2).all().item<bool>());
      CHECK((kept.sum(1) == 2).all().item<bool>());
      const auto min_kept = magnitude.masked_fill(kept.logical_not(), INFINITY).amin(1);
      const auto max_pruned = magnitude.masked_fill(kept, -INFINITY).amax(1);
      CHECK((min_kept >= max_pruned).all().item<bool>());
      CHECK(sparsity(w) == doctest::Approx(0.5));
    }
  }

  TEST_CASE("N:M refuses impossible shapes and options") {
    auto model = fashion_cnn();
    CHECK(thrown_code([&] { n_m_masks(model, {"features.0"}, 2, 4); }) == 2);  // 1 input channel
    CHECK(thrown_code([&] { n_m_masks(model, {"features.4"}, 1, 3); }) == 2);  // 32 inputs, m = 3
    CHECK(thrown_code([&] { n_m_masks(model, {"features.4"}, 4, 4); }) == 2);
    CHECK(thrown_code([&] { n_m_masks(model, {"features.4"}, 0, 4); }) == 2);
    try {
      n_m_masks(model, {"features.0"}, 2, 4);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("features.0") != std::string::npos);
    }
  }

  TEST_CASE("amounts outside (0, 1) are usage errors") {
    auto model = fashion_cnn();
    const auto input = fashion_input();
    for (double amount : {0.0, 1.0, 1.5, -0.1}) {
      CAPTURE(amount);
      CHECK(thrown_code([&] { check_amount(amount); }) == 2);
      CHECK(thrown_code([&] { global_magnitude_masks(model, {"features.4"}, amount); }) == 2);
      CHECK(thrown_code([&] { prune_channels(model, {amount, 1, {}}, {input}); }) == 2);
    }
    CHECK(thrown_code([&] { check_amount(0.5); }) == -1);
    CHECK(thrown_code([&] { prune_channels(model, {0.5, 3, {}}, {input}); }) == 2);                  // norm
    CHECK(thrown_code([&] { prune_channels(model, {0.5, 1, {{"nothing*"}, {}}}, {input}); }) == 2);  // include
    CHECK(out_channels(model, "features.0") == 32);  // refused before touching anything
  }

  TEST_CASE("per-layer amounts come from a JSON file of globs") {
    const std::vector<std::string> layers = {"features.0", "features.4", "classifier.2", "classifier.5"};
    const auto amounts = read_layer_amounts(
        write_file("amounts.json", R"({"classifier.2": 0.7, "classifier.*": 0.2, "features.*": 0.5})"), layers);
    CHECK(amounts.at("features.0") == 0.5);
    CHECK(amounts.at("features.4") == 0.5);
    CHECK(amounts.at("classifier.2") == 0.7);  // exact name beats a later glob
    CHECK(amounts.at("classifier.5") == 0.2);
    CHECK(read_layer_amounts(write_file("some.json", R"({"features.4": 0.0})"), layers).size() == 1);

    CHECK(thrown_code([&] { read_layer_amounts(write_file("bad.json", "{oops"), layers); }) == 4);
    CHECK(thrown_code([&] { read_layer_amounts(write_file("list.json", "[0.5]"), layers); }) == 4);
    CHECK(thrown_code([&] { read_layer_amounts("/nonexistent/amounts.json", layers); }) == 4);
    CHECK(thrown_code([&] { read_layer_amounts(write_file("big.json", R"({"features.0": 1.2})"), layers); }) == 2);
    CHECK(thrown_code([&] { read_layer_amounts(write_file("text.json", R"({"features.0": "half"})"), layers); }) == 2);
    CHECK(thrown_code([&] { read_layer_amounts(write_file("none.json", R"({"layer1.*": 0.5})"), layers); }) == 2);
  }

  TEST_CASE("gradual pruning schedules") {
    CHECK(scheduled_sparsity(0, 100, 0.1, 0.8, "cubic") == doctest::Approx(0.1));
    CHECK(scheduled_sparsity(100, 100, 0.1, 0.8, "cubic") == doctest::Approx(0.8));
    CHECK(scheduled_sparsity(250, 100, 0.1, 0.8, "cubic") == doctest::Approx(0.8));  // clamped
    CHECK(scheduled_sparsity(-5, 100, 0.1, 0.8, "cubic") == doctest::Approx(0.1));
    CHECK(scheduled_sparsity(50, 100, 0.0, 0.8, "cubic") == doctest::Approx(0.8 - 0.8 * 0.125));
    CHECK(scheduled_sparsity(50, 100, 0.0, 0.8, "linear") == doctest::Approx(0.4));
    CHECK(scheduled_sparsity(3, 0, 0.0, 0.8, "cubic") == doctest::Approx(0.8));
    double previous = -1.0;
    for (int step = 0; step <= 100; ++step) {
      const double s = scheduled_sparsity(step, 100, 0.0, 0.9, "cubic");
      CHECK(s >= previous);
      previous = s;
    }
    CHECK(thrown_code([] { scheduled_sparsity(1, 10, 0.0, 0.5, "exponential"); }) == 2);
    CHECK(thrown_code([] { scheduled_sparsity(1, 10, 0.0, 1.5, "cubic"); }) == 2);
  }

  TEST_CASE("channel pruning halves the fashion CNN and it still trains, saves and loads") {
    auto model = fashion_cnn();
    const auto input = fashion_input();
    const int64_t params_before = parameter_count(model);
    forward(model, input);  // executors that already ran must not keep the old shapes
    forward(model, input);
    const auto old_handle = model;  // a shallow handle to the object before pruning
    const auto result = prune_channels(model, {0.5, 1, {}}, {input});
    CHECK(out_channels(old_handle, "features.0") == 32);  // the cut happened on a copy

    CHECK(weight(model, "features.0").sizes() == torch::IntArrayRef({16, 1, 3, 3}));
    CHECK(weight(model, "features.4").sizes() == torch::IntArrayRef({32, 16, 3, 3}));
    CHECK(weight(model, "classifier.2").sizes() == torch::IntArrayRef({64, 1568}));
    CHECK(weight(model, "classifier.5").sizes() == torch::IntArrayRef({10, 64}));
    CHECK(tensor_attr(submodule_at(model, "classifier.5"), "bias").size(0) == 10);
    for (const char* attribute : {"weight", "bias", "running_mean", "running_var"}) {
      CHECK(tensor_attr(submodule_at(model, "features.1"), attribute).size(0) == 16);
      CHECK(tensor_attr(submodule_at(model, "features.5"), attribute).size(0) == 32);
    }
    const auto* output_group = group_of(result, "classifier.5");
    REQUIRE(output_group);
    CHECK(output_group->skipped_reason.find("model output") != std::string::npos);
    CHECK(group_of(result, "features.0")->skipped_reason.empty());
    CHECK(group_of(result, "features.0")->channels_after == 16);
    CHECK(result.layers.size() == 6);  // 2 convs, 2 BNs, 2 linears
    CHECK(parameter_count(model) < params_before);
    CHECK(forward(model, input).sizes() == torch::IntArrayRef({1, 10}));

    // Parameters are still leaf parameters that receive gradients.
    model.train();
    auto output = model.forward({input.repeat({4, 1, 1, 1})}).toTensor();
    output.sum().backward();
    for (const auto& p : model.named_parameters()) {
      CAPTURE(p.name);
      CHECK(p.value.requires_grad());
      CHECK(p.value.grad().defined());
    }
    model.eval();

    const auto path = temp_dir("prune-save") / "pruned.pt";
    model.save(path.string());
    auto loaded = torch::jit::load(path.string());
    CHECK(weight(loaded, "classifier.2").sizes() == torch::IntArrayRef({64, 1568}));
    CHECK(torch::allclose(forward(loaded, input), forward(model, input)));
  }

  TEST_CASE("channel pruning of already-dead channels does not change the output (index bookkeeping)") {
    auto model = fashion_cnn();
    const auto input = read_npy(fixture("fashion_cnn.input.npy")).repeat({3, 1, 1, 1}) +
                       torch::linspace(0, 0.5, 3).reshape({3, 1, 1, 1});
    // Scattered (not leading) channels, so a wrong index anywhere would show.
    std::vector<int64_t> dead0, dead1, dead2;
    for (int64_t c = 0; c < 32; ++c)
      if ((c * 7) % 32 < 16) dead0.push_back(c);
    for (int64_t c = 0; c < 64; ++c)
      if ((c * 5 + 3) % 64 < 32) dead1.push_back(c);
    for (int64_t c = 0; c < 128; ++c)
      if ((c * 11 + 1) % 128 < 64) dead2.push_back(c);
    kill_channels(model, "features.0", "features.1", dead0);
    kill_channels(model, "features.4", "features.5", dead1);
    kill_channels(model, "classifier.2", "", dead2);
    const auto expected = forward(model, input);

    prune_channels(model, {0.5, 1, {}}, {input});
    REQUIRE(out_channels(model, "features.0") == 16);
    REQUIRE(out_channels(model, "features.4") == 32);
    REQUIRE(out_channels(model, "classifier.2") == 64);
    // No surviving channel is a dead one.
    CHECK(weight(model, "features.0").abs().sum({1, 2, 3}).gt(0).all().item<bool>());
    const auto actual = forward(model, input);
    CHECK(torch::allclose(actual, expected, 1e-5, 1e-5));
  }

  TEST_CASE("channel pruning respects the layer selection") {
    auto model = fashion_cnn();
    model.train();
    const auto batches = tensor_attr(submodule_at(model, "features.1"), "num_batches_tracked").item<int64_t>();
    const auto result = prune_channels(model, {0.5, 2, {{}, {"features.0"}}}, {fashion_input()});
    CHECK(model.is_training());  // the verification runs happen in eval mode, then the mode comes back
    CHECK(submodule_at(model, "features.1").is_training());
    CHECK(tensor_attr(submodule_at(model, "features.1"), "num_batches_tracked").item<int64_t>() == batches);
    CHECK(out_channels(model, "features.0") == 32);
    CHECK(group_of(result, "features.0")->skipped_reason.find("not selected") != std::string::npos);
    CHECK(out_channels(model, "features.4") == 32);
    CHECK(weight(model, "features.4").size(1) == 32);
  }

  TEST_CASE("channel pruning of resnet18 prunes residual groups together") {
    auto resnet = load(fixture("resnet18.pt"));
    const auto input = read_npy(fixture("resnet18.input.npy"));
    const int64_t params_before = parameter_count(resnet);
    const auto result = prune_channels(resnet, {0.3, 1, {}}, {input});
    const auto output = forward(resnet, input);
    CHECK(output.sizes() == torch::IntArrayRef({1, 1000}));
    CHECK(torch::isfinite(output).all().item<bool>());
    CHECK(parameter_count(resnet) < params_before);

    // The stem and every block of layer1 add into one residual stream: one group.
    const int64_t stem = out_channels(resnet, "conv1");
    CHECK(stem == 45);  // ceil(0.7 * 64)
    CHECK(out_channels(resnet, "layer1.0.conv2") == stem);
    CHECK(out_channels(resnet, "layer1.1.conv2") == stem);
    CHECK(weight(resnet, "layer2.0.conv1").size(1) == stem);
    CHECK(weight(resnet, "layer2.0.downsample.0").size(1) == stem);
    // layer2's stream: its downsample and both conv2 are tied.
    CHECK(out_channels(resnet, "layer2.0.downsample.0") == out_channels(resnet, "layer2.1.conv2"));
    CHECK(out_channels(resnet, "layer2.0.downsample.0") == 90);  // ceil(0.7 * 128)
    const auto* stream = group_of(result, "layer1.0.conv2");
    REQUIRE(stream);
    CHECK(stream->producers.size() == 3);
    CHECK(stream == group_of(result, "conv1"));
    CHECK(weight(resnet, "fc").sizes() == torch::IntArrayRef({1000, 359}));  // ceil(0.7 * 512)
    CHECK(group_of(result, "fc")->skipped_reason.find("model output") != std::string::npos);
  }

  TEST_CASE("channel pruning of mobilenet_v2: depthwise convs follow their producers") {
    auto mobilenet = load(fixture("mobilenet_v2.pt"));
    const auto input = read_npy(fixture("mobilenet_v2.input.npy"));
    const int64_t params_before = parameter_count(mobilenet);
    forward(mobilenet, input);  // already-run executors must not keep the old depthwise groups
    const auto result = prune_channels(mobilenet, {0.3, 1, {}}, {input});
    CHECK(forward(mobilenet, input).sizes() == torch::IntArrayRef({1, 1000}));
    CHECK(parameter_count(mobilenet) < params_before);
    // features.2: expand 1x1 (conv.0.0) -> depthwise 3x3 (conv.1.0) -> project (conv.2).
    const int64_t expanded = out_channels(mobilenet, "features.2.conv.0.0");
    CHECK(expanded < 96);
    CHECK(out_channels(mobilenet, "features.2.conv.1.0") == expanded);
    CHECK(weight(mobilenet, "features.2.conv.2").size(1) == expanded);
    CHECK(group_of(result, "features.2.conv.0.0")->skipped_reason.empty());

    const auto path = temp_dir("prune-mobilenet") / "pruned.pt";
    mobilenet.save(path.string());
    auto loaded = torch::jit::load(path.string());
    CHECK(torch::allclose(forward(loaded, input), forward(mobilenet, input), 1e-4, 1e-5));
  }

  TEST_CASE("channel pruning of a plain MLP keeps the classifier's outputs") {
    auto mlp = load(fixture("mlp.pt"));
    const auto input = read_npy(fixture("mlp.input.npy"));
    const auto result = prune_channels(mlp, {0.5, 1, {}}, {input});
    CHECK(forward(mlp, input).sizes() == read_npy(fixture("mlp.output.npy")).sizes());
    int pruned = 0;
    for (const auto& group : result.groups) pruned += group.skipped_reason.empty();
    CHECK(pruned == static_cast<int>(result.groups.size()) - 1);
  }

  TEST_CASE("pruning dead channels of resnet18 and mobilenet_v2 keeps their outputs (residuals, depthwise)") {
    for (const std::string name : {"resnet18", "mobilenet_v2"}) {
      CAPTURE(name);
      auto model = load(fixture(name + ".pt"));
      const auto input = read_npy(fixture(name + ".input.npy"));
      kill_channels_in_every_group(model, input.dim(), 0.3);
      const auto expected = forward(model, input);
      const auto result = prune_channels(model, {0.3, 1, {}}, {input});
      const auto actual = forward(model, input);
      CHECK((actual - expected).abs().max().item<double>() < 1e-4 * (1.0 + expected.abs().max().item<double>()));
      int64_t pruned = 0;
      for (const auto& group : result.groups) pruned += group.channels_after < group.channels_before;
      CHECK(pruned == static_cast<int64_t>(result.groups.size()) - 1);  // all but the classifier
    }
  }

  TEST_CASE("channel groups that cannot be followed are left whole, with a reason") {
    torch::manual_seed(0);
    const auto input = torch::randn({1, 3, 8, 8});
    auto check_unpruned = [&](torch::jit::Module net, const std::string& producer, const std::string& reason) {
      CAPTURE(producer);
      const auto result = prune_channels(net, {0.5, 1, {}}, {input});
      CHECK(reasons_of(result, producer).find(reason) != std::string::npos);
      CHECK(group_of(result, producer)->channels_after == group_of(result, producer)->channels_before);
    };
    check_unpruned(conv_net({{"a", conv_module(3, 8)}, {"b", conv_module(3, 8)}, {"c", conv_module(16, 4)}},
                            "    return self.c.forward(torch.cat([self.a.forward(x), self.b.forward(x)], 1))\n"),
                   "a", "concatenated by aten::cat");
    check_unpruned(conv_net({{"a", conv_module(3, 8)}, {"g", conv_module(8, 8, 2)}},
                            "    return self.g.forward(self.a.forward(x))\n"),
                   "a", "consumed by grouped conv g (groups=2)");
    check_unpruned(conv_net({{"a", conv_module(3, 8)}, {"c", conv_module(8, 4)}},
                            "    return self.c.forward(self.a.forward(x)) + self.a.weight.sum()\n"),
                   "a", "a.weight is also read by aten::sum");
    check_unpruned(conv_net({{"a", conv_module(3, 8)}, {"c", conv_module(8, 4)}},
                            "    y = self.a.forward(x)\n    return self.c.forward(y), y\n"),
                   "a", "reaches the model output");
  }

  TEST_CASE("a conv called twice is one group, pruned consistently on both sides") {
    torch::manual_seed(0);
    const auto input = torch::randn({2, 8, 8, 8});
    auto net = conv_net({{"a", conv_module(8, 8)}, {"c", conv_module(8, 4)}},
                        "    return self.c.forward(torch.relu(self.a.forward(torch.relu(self.a.forward(x)))))\n");
    // a reads the graph input (8 channels that cannot change), so a's input side stays whole.
    const auto result = prune_channels(net, {0.5, 1, {}}, {input});
    CHECK(out_channels(net, "a") == 8);
    CHECK(reasons_of(result, "a").find("a is also called on channels that cannot be pruned") != std::string::npos);

    auto inner = conv_net({{"s", conv_module(3, 8)}, {"a", conv_module(8, 8)}, {"c", conv_module(8, 4)}},
                          "    return self.c.forward(self.a.forward(self.a.forward(self.s.forward(x))))\n");
    const auto small = torch::randn({1, 3, 8, 8});
    const auto result2 = prune_channels(inner, {0.5, 1, {}}, {small});
    CHECK(group_of(result2, "s") == group_of(result2, "a"));  // a's input and output are the same channels
    CHECK(weight(inner, "a").sizes() == torch::IntArrayRef({4, 4, 3, 3}));
    CHECK(weight(inner, "c").size(1) == 4);
  }

  TEST_CASE("kept channel counts round to the nearest multiple, never to 0 or past the layer") {
    CHECK(round_kept_channels(359, 512, 16) == 352);  // the issue's ResNet-18 layer4 at 30%
    CHECK(round_kept_channels(359, 512, 8) == 360);
    CHECK(round_kept_channels(359, 512, 1) == 359);   // 1 = off
    CHECK(round_kept_channels(45, 64, 16) == 48);     // nearer 48 than 32
    CHECK(round_kept_channels(40, 64, 16) == 48);     // a tie keeps more channels
    CHECK(round_kept_channels(3, 64, 16) == 16);      // never 0
    CHECK(round_kept_channels(1, 17, 16) == 16);
    CHECK(round_kept_channels(60, 64, 16) == 64);     // nearest is the whole layer
    CHECK(round_kept_channels(12, 16, 8) == 16);      // tie between 8 and the whole layer
    CHECK(round_kept_channels(19, 20, 8) == 20);      // 20 is nearer than 16; never 24
    CHECK(round_kept_channels(13, 20, 8) == 16);
    CHECK(round_kept_channels(6, 12, 16) == 6);       // no multiple fits in 12 channels
    CHECK(round_kept_channels(5, 16, 16) == 5);       // nor in exactly 16 (it would keep all)
    for (int64_t channels = 1; channels <= 80; ++channels) {
      for (int64_t requested = 1; requested <= channels; ++requested) {
        for (int64_t multiple : {2, 4, 8, 16}) {
          const int64_t kept = round_kept_channels(requested, channels, multiple);
          CAPTURE(channels); CAPTURE(requested); CAPTURE(multiple);
          CHECK(kept >= 1);
          CHECK(kept <= channels);
          if (channels > multiple) CHECK((kept % multiple == 0 || kept == channels));
          // Within half a step of the request, unless it was bumped up from below one step to one.
          if (channels > multiple && kept != channels && requested >= multiple) {
            CHECK(std::abs(kept - requested) <= multiple / 2);
          }
          if (requested < multiple && channels > multiple) CHECK(kept == multiple);
        }
      }
    }
    CHECK(thrown_code([] { round_kept_channels(0, 8, 4); }) == 2);
    CHECK(thrown_code([] { round_kept_channels(9, 8, 4); }) == 2);
  }

  TEST_CASE("channel pruning with round_to keeps multiples of it, and says what was asked") {
    auto resnet = load(fixture("resnet18.pt"));
    const auto input = read_npy(fixture("resnet18.input.npy"));
    ChannelPruneOptions options{0.3, 1, {}, 16};
    const auto result = prune_channels(resnet, options, {input});
    CHECK(forward(resnet, input).sizes() == torch::IntArrayRef({1, 1000}));
    CHECK(out_channels(resnet, "conv1") == 48);           // asked ceil(0.7 * 64) = 45
    CHECK(group_of(result, "conv1")->channels_requested == 45);
    CHECK(group_of(result, "conv1")->channels_after == 48);
    CHECK(out_channels(resnet, "layer3.1.conv1") == 176);  // asked 180
    CHECK_FALSE(group_of(result, "layer3.1.conv1")->raised_for_onednn);
    // The last stage keeps 432, not 352: 352x7x7 input values would put the 3x3 convolutions reading
    // them on LibTorch's slow path at batch 1 (the test below checks that threshold against LibTorch).
    CHECK(out_channels(resnet, "layer4.1.conv1") == 432);  // asked 359
    CHECK(group_of(result, "layer4.1.conv1")->channels_requested == 359);
    CHECK(group_of(result, "layer4.1.conv1")->raised_for_onednn);
    CHECK(weight(resnet, "fc").sizes() == torch::IntArrayRef({1000, 432}));
    int pruned = 0;
    for (const auto& group : result.groups) {
      if (!group.skipped_reason.empty()) continue;
      ++pruned;
      CAPTURE(group.producers.front());
      CHECK(group.channels_after % 16 == 0);
      CHECK(out_channels(resnet, group.producers.front()) == group.channels_after);
    }
    CHECK(pruned == static_cast<int>(result.groups.size()) - 1);  // all but the classifier
    CHECK(thrown_code([&] { prune_channels(resnet, {0.3, 1, {}, 0}, {input}); }) == 2);
  }

  TEST_CASE("rounding keeps a convolution on LibTorch's oneDNN path at batch 1, measured against LibTorch") {
    // c reads a's 96 channels on 16x16 maps: 24576 input values, oneDNN. Half of them (12288) would
    // take LibTorch's slow im2col path; the smallest multiple of 8 above 20480 / 256 is 88.
    const auto input = torch::randn({1, 3, 16, 16});
    auto make = [] {
      torch::manual_seed(0);
      return conv_net({{"a", conv_module(3, 96)}, {"c", conv_module(96, 4)}},
                      "    return self.c.forward(torch.relu(self.a.forward(x)))\n");
    };
    auto slow_convs = [&](const torch::jit::Module& net) {  // of c (a reads 3x16x16 values: slow path anyway)
      const auto slow = slow_path_convolutions(Model::from_torchscript(net), {input});
      return std::count_if(slow.begin(), slow.end(), [](const std::string& s) { return s.rfind("c (input", 0) == 0; });
    };
    auto original = make();
    CHECK(slow_convs(original) == 0);
    auto exact = make();
    prune_channels(exact, {0.5, 1, {}, 1}, {input});  // rounding off: 48 channels, LibTorch's slow path
    CHECK(out_channels(exact, "a") == 48);
    CHECK(slow_convs(exact) == 1);
    auto rounded = make();
    const auto result = prune_channels(rounded, {0.5, 1, {}, 8}, {input});
    CHECK(out_channels(rounded, "a") == 88);
    CHECK(group_of(result, "a")->channels_requested == 48);
    CHECK(group_of(result, "a")->raised_for_onednn);
    CHECK(slow_convs(rounded) == 0);
    // 80 of 96 leaves exactly 20480 values, not above the threshold; the next multiple of 16 is all
    // 96 channels, so the group is left whole and says why.
    auto at_threshold = make();
    const auto whole = prune_channels(at_threshold, {1.0 - 80.0 / 96.0, 1, {}, 16}, {input});
    CHECK(group_of(whole, "a")->channels_requested == 80);
    CHECK(out_channels(at_threshold, "a") == 96);
    CHECK(reasons_of(whole, "a").find("LibTorch's slow convolution at batch 1") != std::string::npos);
  }

  TEST_CASE("a group that rounding would keep whole is left whole, with the reason") {
    torch::manual_seed(0);
    auto net = conv_net({{"a", conv_module(3, 16)}, {"c", conv_module(16, 4)}},
                        "    return self.c.forward(torch.relu(self.a.forward(x)))\n");
    const auto result = prune_channels(net, {0.25, 1, {}, 8}, {torch::randn({1, 3, 8, 8})});  // asks 12 of 16
    CHECK(out_channels(net, "a") == 16);
    CHECK(group_of(result, "a")->channels_requested == 12);
    CHECK(reasons_of(result, "a").find("rounded to a multiple of 8 is all of them") != std::string::npos);
    auto again = conv_net({{"a", conv_module(3, 16)}, {"c", conv_module(16, 4)}},
                          "    return self.c.forward(torch.relu(self.a.forward(x)))\n");
    prune_channels(again, {0.3, 1, {}, 8}, {torch::randn({1, 3, 8, 8})});  // asks 12 (ceil 11.2): same
    CHECK(out_channels(again, "a") == 16);
    prune_channels(again, {0.5, 1, {}, 8}, {torch::randn({1, 3, 8, 8})});  // asks 8
    CHECK(out_channels(again, "a") == 8);
  }

  TEST_CASE("a module cloned with grad on comes back with leaf parameters") {
    auto model = Model::load(committed("fashion_cnn.pt")).clone();  // Module::clone() gives non-leaf tensors
    prune_channels(model.torchscript(), {0.5, 1, {}}, {fashion_input()});
    for (const auto& p : model.torchscript().named_parameters()) {
      CAPTURE(p.name);
      CHECK(p.value.is_leaf());
      CHECK(p.value.requires_grad());
    }
  }
}
