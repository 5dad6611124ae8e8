// prepack-lstm: each LSTM becomes oneDNN RNN layers on weights packed when the file loads; outputs
// are those of aten::lstm (the same oneDNN kernel), at the batch it was packed for and at others,
// after a save and a load; inputs the packed path does not take go to aten::lstm.
#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::run_text;

namespace {

// Every output of `module`'s forward on `inputs` (a tuple's elements, or the one tensor).
std::vector<at::Tensor> outputs(torch::jit::Module& module, const std::vector<c10::IValue>& inputs) {
  auto result = module.forward(inputs);
  if (result.isTensor()) return {result.toTensor()};
  std::vector<at::Tensor> tensors;
  for (const auto& element : result.toTupleRef().elements()) tensors.push_back(element.toTensor());
  return tensors;
}

double max_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].sizes() == b[i].sizes());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  }
  return worst;
}

// torch.lstm over attribute weights, returning all three outputs: what nn.LSTM scripts to.
torch::jit::Module lstm_module(int64_t input_size, int64_t hidden, int64_t layers, bool bidirectional, bool biases,
                               bool batch_first) {
  torch::manual_seed(3);
  torch::jit::Module module("Recurrent");
  module.register_attribute("training", c10::BoolType::get(), false);
  std::vector<at::Tensor> weights;
  const int64_t directions = bidirectional ? 2 : 1;
  for (int64_t layer = 0; layer < layers; ++layer) {
    for (int64_t d = 0; d < directions; ++d) {
      const int64_t features = layer == 0 ? input_size : hidden * directions;
      weights.push_back(torch::randn({4 * hidden, features}) * 0.2);
      weights.push_back(torch::randn({4 * hidden, hidden}) * 0.2);
      if (biases) {
        weights.push_back(torch::randn({4 * hidden}) * 0.1);
        weights.push_back(torch::randn({4 * hidden}) * 0.1);
      }
    }
  }
  module.register_attribute("weights", c10::ListType::ofTensors(), c10::List<at::Tensor>(weights));
  const auto py = [](bool b) { return b ? "True" : "False"; };
  module.define(fmt::format(R"(
    def forward(self, x, h0, c0):
        y, h, c = torch.lstm(x, [h0, c0], self.weights, {}, {}, 0.0, False, {}, {})
        return torch.relu(y), h, c
  )",
                            py(biases), layers, py(bidirectional), py(batch_first)));
  module.eval();
  return module;
}

}  // namespace

TEST_SUITE("prepack-lstm") {
  TEST_CASE("the 2-layer fixture LSTM: two packed oneDNN layers, PyTorch's outputs, saved and loaded") {
    auto model = Model::load(mopt::test::fixture("onnx_import/lstm.pt"));
    const auto input = read_npy(mopt::test::fixture("onnx_import/lstm.input.npy"));
    const auto expected = read_npy(mopt::test::fixture("onnx_import/lstm.output.npy"));
    auto result = run_text(model, "prepack-lstm");
    CHECK(result.records.at(0).stats.rewrites == 1);
    CHECK(op_count(result.model, "aten::mkldnn_rnn_layer") == 2);
    CHECK((run_model(result.model, input) - expected).abs().max().item<double>() < 1e-5);

    auto dir = mopt::test::temp_dir("prepack-lstm");
    result.model.save(dir / "lstm.pt");
    auto loaded = Model::load(dir / "lstm.pt");
    for (const auto& shape : std::vector<std::vector<int64_t>>{{1, 10, 32}, {3, 7, 32}, {1, 1, 32}}) {
      CAPTURE(shape);
      const auto x = torch::randn(shape);
      CHECK(torch::equal(run_model(loaded, x), run_model(model, x)));  // the kernel aten::lstm runs
    }
    // freeze on the frozen result changes nothing (it would fold the packed weights into constants
    // that no file can hold), so the file still saves.
    auto refrozen = run_text(loaded, "freeze");
    CHECK(refrozen.records.at(0).stats.details["already_frozen"].get<bool>());
    CHECK_NOTHROW(refrozen.model.save(dir / "refrozen.pt"));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("bidirectional, no biases, time-major: all three outputs at two batch sizes") {
    for (const bool bidirectional : {false, true}) {
      for (const bool biases : {false, true}) {
        CAPTURE(bidirectional);
        CAPTURE(biases);
        auto module = lstm_module(12, 16, 2, bidirectional, biases, /*batch_first=*/false);
        auto model = Model::from_torchscript(module);
        auto result = run_text(model, "prepack-lstm");
        CHECK(result.records.at(0).stats.rewrites == 1);
        CHECK(op_count(result.model, "aten::mkldnn_rnn_layer") == (bidirectional ? 4 : 2));
        auto& packed = result.model.torchscript();
        const int64_t units = bidirectional ? 4 : 2;
        for (const int64_t batch : {1, 5}) {
          const std::vector<c10::IValue> inputs{torch::randn({9, batch, 12}), torch::randn({units, batch, 16}),
                                                torch::randn({units, batch, 16})};
          CHECK(max_difference(outputs(packed, inputs), outputs(module, inputs)) < 1e-5);
        }
        // States that are views with other strides (batch-major, transposed) give the same outputs.
        const auto h = torch::randn({5, units, 16}).transpose(0, 1), c = torch::randn({5, units, 16}).transpose(0, 1);
        const std::vector<c10::IValue> strided{torch::randn({9, 5, 12}), h, c};
        CHECK(max_difference(outputs(packed, strided), outputs(module, strided)) < 1e-5);
        // aten::lstm takes no unbatched input (nn.LSTM adds the batch dim); the rewrite hands it over.
        const std::vector<c10::IValue> unbatched{torch::randn({9, 12}), torch::randn({units, 16}),
                                                 torch::randn({units, 16})};
        CHECK_THROWS_WITH(outputs(packed, unbatched), doctest::Contains("Dimension out of range"));
      }
    }
  }

  TEST_CASE("nothing to do without an LSTM") {
    auto conv = mopt::test::load_case("conv_bn");
    CHECK(run_text(conv.model, "prepack-lstm").records.at(0).stats.rewrites == 0);
  }
}
