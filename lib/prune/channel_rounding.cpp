#include "lib/prune/channel_rounding.h"

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt::prune {

int64_t round_kept_channels(int64_t requested, int64_t channels, int64_t multiple) {
  if (requested < 1 || requested > channels) {
    throw usage_error(fmt::format("cannot keep {} of {} channels", requested, channels));
  }
  if (multiple <= 1 || channels <= multiple) return requested;
  // Candidates: multiple, 2*multiple, ... below the layer's size, and the layer's size itself.
  const int64_t below = (requested / multiple) * multiple;  // may be 0
  const int64_t above = below + multiple;                   // may pass `channels`
  const int64_t down = below >= multiple ? below : multiple;  // never 0
  const int64_t up = above < channels ? above : channels;     // never more than the layer has
  // Nearest wins; on a tie the larger count, which costs less accuracy.
  return (requested - down < up - requested) ? down : up;
}

}  // namespace mopt::prune
