#pragma once
#include "lib/model/model.h"

namespace mopt::quant {

/// fp16/bf16 weight storage: freezes the model, stores every floating-point tensor constant in
/// `dtype` and casts it back to float32 where it is used. The file shrinks ~2x; CPU kernels still
/// run in float32, so each call pays the casts (a GPU profile would run half precision natively).
/// Returns the number of constants converted.
int64_t store_weights_reduced(Model& model, c10::ScalarType dtype);

/// Reduced-precision compute (--mode bf16-compute on the CPU, --mode fp16|bf16 --device cuda):
/// freezes the model, stores every float32 tensor constant in `dtype` (bfloat16 or float16), casts
/// each floating-point tensor input to `dtype` where it enters and each tensor output (also the
/// elements of a returned tuple or list, the values stored in a returned dict) back to float32, so
/// every op between runs in `dtype`.
/// CPUs with AMX or AVX512-BF16 run oneDNN's bf16 convolutions and matmuls ~2x faster than
/// float32 (ResNet-18, 1 thread); others emulate them and are slower, which the measurement shows.
/// GPUs run both on tensor cores.
/// Throws invalid_input for an output it cannot cast. Returns the constants converted.
int64_t compute_in_reduced_precision(Model& model, c10::ScalarType dtype);

}  // namespace mopt::quant
