#include "passes/quantize/jit_observers.h"

#include <torch/library.h>

#include "lib/util/mopt_resolver.h"

namespace mopt::quant {
namespace {

ObservationSink* g_sink = nullptr;

at::Tensor observe_op(const at::Tensor& x, int64_t observer_id) {
  if (g_sink) g_sink->observe(observer_id, x);
  return x;
}

constexpr int64_t kQUInt8 = 13;  // c10::ScalarType::QUInt8
constexpr int64_t kQInt8 = 12;   // c10::ScalarType::QInt8
constexpr int64_t kPerTensorAffine = 0, kPerTensorSymmetric = 2, kPerChannelSymmetric = 3;

}  // namespace

// In the same translation unit as the observer factories, so the static library keeps it.
TORCH_LIBRARY(mopt, m) {
  m.def(torch::schema("observe(Tensor x, int observer_id) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        &observe_op);
}

ScopedObservationSink::ScopedObservationSink(ObservationSink* sink) { g_sink = sink; }
ScopedObservationSink::~ScopedObservationSink() { g_sink = nullptr; }

torch::jit::Module make_activation_observer() {
  torch::jit::Module observer(kActivationObserverName);
  observer.register_attribute("dtype", c10::IntType::get(), kQUInt8);
  observer.register_attribute("qscheme", c10::IntType::get(), kPerTensorAffine);
  observer.register_attribute("observer_id", c10::IntType::get(), int64_t{-1});
  observer.register_attribute("scale", c10::TensorType::get(), torch::ones({1}));
  observer.register_attribute("zero_point", c10::TensorType::get(), torch::zeros({1}, torch::kLong));
  observer.define(R"(
    def forward(self, x: Tensor) -> Tensor:
        return mopt.observe(x, self.observer_id)

    def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
        return self.scale, self.zero_point
  )", mopt_resolver());
  return observer;
}

torch::jit::Module make_weight_observer(bool per_channel) {
  torch::jit::Module observer(per_channel ? "MoptPerChannelWeightObserver" : "MoptPerTensorWeightObserver");
  observer.register_attribute("dtype", c10::IntType::get(), kQInt8);
  observer.register_attribute("qscheme", c10::IntType::get(), per_channel ? kPerChannelSymmetric : kPerTensorSymmetric);
  if (per_channel) observer.register_attribute("ch_axis", c10::IntType::get(), int64_t{0});
  observer.register_attribute("min_val", c10::TensorType::get(), torch::zeros({1}));
  observer.register_attribute("max_val", c10::TensorType::get(), torch::zeros({1}));
  // Symmetric qint8 over [-128, 127]: scale = max|w| / 127.5 (PyTorch's symmetric formula).
  observer.define(per_channel ? R"(
    def forward(self, x: Tensor) -> Tensor:
        w = x.detach().flatten(1)
        self.min_val = torch.amin(w, 1)
        self.max_val = torch.amax(w, 1)
        return x

    def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
        max_abs = torch.maximum(-self.min_val, self.max_val).clamp(min=1e-8)
        scale = (max_abs / 127.5).float()
        return scale, torch.zeros_like(scale).long()
  )"
                              : R"(
    def forward(self, x: Tensor) -> Tensor:
        w = x.detach()
        self.min_val = torch.amin(w).reshape(1)
        self.max_val = torch.amax(w).reshape(1)
        return x

    def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
        max_abs = torch.maximum(-self.min_val, self.max_val).clamp(min=1e-8)
        scale = (max_abs / 127.5).float()
        return scale, torch.zeros_like(scale).long()
  )");
  return observer;
}

torch::jit::Module make_dynamic_activation_observer() {
  // The dynamic passes recognise the activation observer by "PlaceholderObserver" in its name.
  torch::jit::Module observer("MoptPlaceholderObserver");
  observer.register_attribute("dtype", c10::IntType::get(), kQUInt8);
  observer.register_attribute("compute_dtype", c10::IntType::get(), kQUInt8);  // LibTorch 1.x's dynamic marker
  observer.register_attribute("is_dynamic", c10::BoolType::get(), true);         // 2.x's (InsertQuantDeQuant)
  observer.register_attribute("qscheme", c10::IntType::get(), kPerTensorAffine);
  observer.define(R"(
    def forward(self, x: Tensor) -> Tensor:
        return x

    def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
        return torch.ones([1]), torch.zeros([1]).long()
  )");
  return observer;
}

void set_activation_qparams(torch::jit::Module& observer, double scale, int64_t zero_point) {
  observer.setattr("scale", torch::full({1}, scale, torch::kFloat));
  observer.setattr("zero_point", torch::full({1}, zero_point, torch::kLong));
}

}  // namespace mopt::quant
