// Models saved by PyTorch 2.x run in the LibTorch mopt links (the official wheel), and LibTorch's
// own copies of protobuf, ONNX and fmt stay out of the way of Debian's in the same process.
#include <onnx/checker.h>

#include <fstream>
#include <sstream>

#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"
#include "passes/quantize/reduced_precision.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::fixture;

TEST_SUITE("pytorch2") {
  TEST_CASE("a Hugging Face BERT traced by PyTorch 2.x calls scaled_dot_product_attention and matches PyTorch") {
    auto model = Model::load(fixture("bert.pt"));
    CHECK(op_histogram(model)["aten::scaled_dot_product_attention"] == 2);  // one per layer
    const auto ids = read_npy(fixture("bert.input.npy"));
    const auto mask = read_npy(fixture("bert.input1.npy"));
    const auto expected = read_npy(fixture("bert.output.npy"));
    CHECK((ids.scalar_type() == torch::kLong));
    const auto got = run_model(model, std::vector<torch::Tensor>{ids, mask});
    CHECK(got.sizes() == expected.sizes());
    CHECK(torch::allclose(got, expected, 1e-4, 1e-5));
  }

  TEST_CASE("bf16 compute casts floating-point inputs only: token ids stay int64") {
    torch::jit::Module module("Tagger");
    module.register_attribute("training", c10::BoolType::get(), false);  // as every saved nn.Module has
    torch::manual_seed(0);
    module.register_parameter("table", torch::randn({50, 8}), false);
    module.register_parameter("scale", torch::randn({8}), false);
    module.define(R"(
      def forward(self, ids, weights):
          return torch.embedding(self.table, ids) * weights.unsqueeze(-1) * self.scale
    )");
    module.eval();
    auto model = Model::from_torchscript(module);
    const auto ids = torch::randint(0, 50, {2, 5}, torch::kLong);
    const auto weights = torch::rand({2, 5});
    const auto reference = run_model(model, std::vector<torch::Tensor>{ids, weights});
    auto reduced = model.clone();
    CHECK(quant::compute_in_reduced_precision(reduced, torch::kBFloat16) == 2);
    const auto got = run_model(reduced.reloaded(), std::vector<torch::Tensor>{ids, weights});
    CHECK((got.scalar_type() == torch::kFloat));
    CHECK(torch::allclose(got, reference, 2e-2, 2e-2));  // bf16 keeps 8 bits of mantissa
  }

  TEST_CASE("fp16 compute (the GPU's --mode fp16): every op between the edges runs in float16") {
    auto loaded = mopt::test::load_case("conv_bn");
    auto reduced = loaded.model.clone();
    CHECK(quant::compute_in_reduced_precision(reduced, torch::kHalf) > 0);
    const auto saved = reduced.reloaded();
    int64_t half_constants = 0, float_constants = 0;
    for (const auto* node : saved.torchscript().get_method("forward").graph()->nodes()) {
      if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
      const auto dtype = torch::jit::toIValue(node->output())->toTensor().scalar_type();
      half_constants += dtype == torch::kHalf;
      float_constants += dtype == torch::kFloat;
    }
    CHECK(half_constants > 0);
    CHECK(float_constants == 0);
    const auto got = run_model(saved, loaded.input);
    CHECK((got.scalar_type() == torch::kFloat));
    CHECK(torch::allclose(got, loaded.expected, 1e-2, 1e-2));  // float16 keeps 11 bits of mantissa
  }

  TEST_CASE("LibTorch, then ONNX parsing, checking and import in the same process") {
    // LibTorch (with its own protobuf and ONNX linked in) runs first, then Debian's protobuf parses,
    // ONNX's checker checks and the importer runs the same file: two copies of one library that
    // shared symbols or a descriptor pool would fail here (or in the sanitized build).
    auto torchscript = mopt::test::load_case("conv_bn");
    CHECK(torch::allclose(run_model(torchscript.model, torchscript.input), torchscript.expected, 1e-4, 1e-5));

    std::ifstream file(fixture("conv_bn.onnx"), std::ios::binary);
    std::stringstream bytes;
    bytes << file.rdbuf();
    onnx::ModelProto proto;
    REQUIRE(parse_onnx_bytes(bytes.str(), proto));
    CHECK_NOTHROW(onnx::checker::check_model(proto));
    CHECK(proto.graph().node_size() > 0);
    CHECK(onnx::ModelProto::descriptor()->full_name() == "onnx.ModelProto");
    auto imported = to_torchscript(Model::from_onnx(proto));
    CHECK(torch::allclose(run_model(imported, torchscript.input), torchscript.expected, 1e-4, 1e-5));
  }
}
