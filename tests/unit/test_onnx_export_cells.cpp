// The exporter's recurrent cells (what nn.LSTMCell, nn.GRUCell and nn.RNNCell call): one step of
// ONNX's LSTM/GRU/RNN each, gates reordered; the exported file, read back by the importer (whose
// LSTM/GRU/RNN match ONNX Runtime in tests/cli/test_onnx_import.sh), gives LibTorch's outputs.
#include "lib/eval/evaluate.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "tests/unit/onnx_test_builder.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;

TEST_SUITE("onnx_export") {
  TEST_CASE("LSTM, GRU (no biases) and RNN cells export as one step of ONNX's LSTM, GRU and RNN") {
    torch::manual_seed(5);
    const int64_t input = 6, hidden = 5;
    torch::jit::Module module("Cells");
    module.register_attribute("training", c10::BoolType::get(), false);
    auto weight = [&](const char* name, int64_t gates, int64_t columns) {
      module.register_parameter(name, torch::randn({gates * hidden, columns}) * 0.3, false);
    };
    weight("l_ih", 4, input);
    weight("l_hh", 4, hidden);
    module.register_parameter("l_b_ih", torch::randn({4 * hidden}) * 0.1, false);
    module.register_parameter("l_b_hh", torch::randn({4 * hidden}) * 0.1, false);
    weight("g_ih", 3, input);
    weight("g_hh", 3, hidden);
    weight("r_ih", 1, input);
    weight("r_hh", 1, hidden);
    module.register_parameter("r_b_ih", torch::randn({hidden}) * 0.1, false);
    module.define(R"(
      def forward(self, x, h, c):
          h1, c1 = torch.lstm_cell(x, [h, c], self.l_ih, self.l_hh, self.l_b_ih, self.l_b_hh)
          g = torch.gru_cell(x, h, self.g_ih, self.g_hh, None, None)
          r = torch.rnn_tanh_cell(x, h, self.r_ih, self.r_hh, self.r_b_ih, None)
          return torch.cat([h1, c1, g, r], 1)
    )");
    module.eval();
    auto model = Model::from_torchscript(module);
    auto frozen = mopt::test::run_text(model, "freeze").model;
    const std::vector<at::Tensor> inputs = {torch::randn({3, input}), torch::randn({3, hidden}), torch::randn({3, hidden})};
    ExportOptions options;
    options.examples = inputs;
    const auto exported = export_to_onnx(frozen, options);
    CHECK(mopt::testing::count_ops(exported, "LSTM") == 1);
    CHECK(mopt::testing::count_ops(exported, "GRU") == 1);
    CHECK(mopt::testing::count_ops(exported, "RNN") == 1);
    auto imported = import_onnx(exported).module;
    for (const int64_t batch : {3, 1}) {
      CAPTURE(batch);
      std::vector<c10::IValue> call;
      for (const auto& t : inputs) call.push_back(t.slice(0, 0, batch));
      torch::NoGradGuard no_grad;
      const auto expected = module.forward(call).toTensor();
      CHECK((imported.forward(call).toTensor() - expected).abs().max().item<double>() < 1e-5);
    }
  }
}
