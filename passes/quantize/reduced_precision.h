#pragma once
#include "lib/model/model.h"

namespace mopt::quant {

/// fp16/bf16 weight storage: freezes the model, stores every floating-point tensor constant in
/// `dtype` and casts it back to float32 where it is used. The file shrinks ~2x; CPU kernels still
/// run in float32, so each call pays the casts (a GPU profile would run half precision natively).
/// Returns the number of constants converted.
int64_t store_weights_reduced(Model& model, c10::ScalarType dtype);

}  // namespace mopt::quant
