#pragma once
// Hardware-friendly channel counts for structured pruning. SIMD kernels process channels in
// vectors (8 fp32 lanes for AVX2, 16 for AVX-512, NEON in pairs of 4-lane registers); a count that
// is not a multiple leaves a ragged tail, and oneDNN's blocked layouts pad or fall back. Measured
// on an AVX-512 host: a 3x3 conv on a 7x7 map ran 8.0 ms with 359 channels and 1.7 ms with 352
// (2 threads), so pruning to "30% fewer" can make a model slower unless the count is rounded.
#include <cstdint>

namespace mopt::prune {

/// The channel count to keep in a layer of `channels` channels when `requested` are asked for:
/// the multiple of `multiple` nearest to `requested` (a tie keeps more channels, for accuracy),
/// never 0 and never more than `channels`. The whole layer (`channels`) is a candidate too, so a
/// count that rounds up past the last multiple below the layer's size keeps the layer whole. A
/// layer of at most `multiple` channels holds no smaller multiple and keeps `requested` as is.
/// `multiple` <= 1 turns rounding off. usage_error unless 1 <= requested <= channels.
int64_t round_kept_channels(int64_t requested, int64_t channels, int64_t multiple);

}  // namespace mopt::prune
