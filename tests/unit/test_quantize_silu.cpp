// SiLU computed as x * sigmoid(x) so static INT8 keeps it quantized (EfficientNet-style models),
// and in-place SiLU left alone where its mutation is visible.
#include <torch/csrc/jit/passes/fold_conv_bn.h>

#include "lib/model/graph_walk.h"
#include "lib/quantize/quant_boundaries.h"
#include "passes/quantize/silu_decomposition.h"
#include "passes/quantize/static_quantizer.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::load_case;

namespace {

torch::Tensor run(torch::jit::Module& module, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  return module.forward({input}).toTensor();
}

// aten::silu(_) ops and calls of torch.nn.functional.silu, per module instance.
int64_t silu_ops(const torch::jit::Module& module) {
  int64_t n = 0;
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) {
      for (auto* node : all_nodes(method.graph()->block())) {
        const std::string kind = node->kind().toQualString();
        auto function = node->kind() == c10::prim::CallFunction ? node->input(0)->type()->cast<c10::FunctionType>() : nullptr;
        n += kind == "aten::silu" || kind == "aten::silu_" || (function && function->function()->name() == "silu");
      }
    }
  }
  return n;
}

// `parent_code` calls self.act, an nn.SiLU(inplace=True) written in TorchScript.
torch::jit::Module with_inplace_silu_child(const std::string& parent_code) {
  torch::jit::Module act("Act");
  act.define("def forward(self, x):\n    return torch.silu_(x)\n");
  torch::jit::Module parent("Parent");
  parent.register_module("act", act);
  parent.define(parent_code);
  return parent;
}

torch::jit::Module standalone(const std::string& code) {
  torch::jit::Module m("Standalone");
  m.define(code);
  return m;
}

// decompose_silu leaves `module` as it was: nothing rewritten, the same output.
void check_left_alone(torch::jit::Module module) {
  const auto x = torch::randn({2, 8});
  const auto before = run(module, x);
  CHECK(quant::decompose_silu(module) == 0);
  CHECK(torch::equal(run(module, x), before));
}

}  // namespace

TEST_SUITE("quantize-silu") {
  TEST_CASE("every SiLU of the EfficientNet-style fixture becomes x * sigmoid(x) with the same output") {
    auto c = load_case("silu_se");
    auto module = c.model.torchscript().clone();
    module.eval();
    REQUIRE(silu_ops(module) == 3);  // stem and expand: nn.SiLU (one shared graph); squeeze-excite: F.silu
    CHECK(quant::decompose_silu(module) == 3);
    CHECK(silu_ops(module) == 0);
    CHECK(torch::allclose(run(module, c.input), c.expected, 1e-4, 1e-5));
    CHECK(silu_ops(c.model.torchscript()) == 3);  // the input model is untouched
    CHECK(quant::decompose_silu(module) == 0);
  }

  TEST_CASE("static INT8 of the fixture keeps SiLU and the squeeze-excite scaling in INT8") {
    auto c = load_case("silu_se");
    quant::QuantConfig config;
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, config);
    CHECK(result.silu_decomposed == 3);
    const auto boundaries = quant::quantization_boundaries(result.model);
    CHECK(boundaries["quantize"].get<int64_t>() == 1);  // the input only
    for (const auto& consumer : boundaries["fp32_consumers"].items()) {
      const std::string kind = consumer.key();  // a named copy: clang cannot capture a structured binding
      CAPTURE(kind);
      CHECK((kind != "aten::silu" && kind != "aten::silu_" && kind != "aten::mul" && kind != "aten::sigmoid"));
    }
    auto reloaded = result.model.reloaded().torchscript();
    CHECK(test::sqnr_db(c.expected, run(reloaded, c.input)) > 20.0);
  }

  TEST_CASE("an in-place SiLU whose mutation someone reads is left as it is") {
    SUBCASE("its input is read again in the same graph") {
      check_left_alone(standalone("def forward(self, x):\n    y = x + 1.0\n    s = torch.silu_(y)\n    return s + y\n"));
    }
    SUBCASE("the tensor is a view of one read later") {
      check_left_alone(standalone("def forward(self, x):\n    t = x + 1.0\n    v = t.view([-1])\n    s = torch.silu_(v)\n    return t\n"));
    }
    SUBCASE("the caller reads the value it passed to nn.SiLU(inplace=True)") {
      check_left_alone(with_inplace_silu_child("def forward(self, x):\n    h = x + 1.0\n    a = self.act.forward(h)\n    return a + h\n"));
    }
    SUBCASE("the caller passes a view of one it reads later") {
      check_left_alone(with_inplace_silu_child("def forward(self, x):\n    t = x + 1.0\n    a = self.act.forward(t.view([-1]))\n    return t\n"));
    }
    SUBCASE("the caller passes a value nobody else reads: rewritten") {
      auto m = with_inplace_silu_child("def forward(self, x):\n    return self.act.forward(x + 1.0)\n");
      const auto x = torch::randn({2, 8});
      const auto before = run(m, x);
      CHECK(quant::decompose_silu(m) == 1);
      CHECK(torch::allclose(run(m, x), before, 1e-5, 1e-6));
    }
  }
}
