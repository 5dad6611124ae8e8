#pragma once
#include "lib/pipeline/pass_registry.h"

namespace mopt {

/// Adds every built-in pass to `registry`. The one explicit list of passes (docs/design.md).
void register_all_passes(PassRegistry& registry);

/// A registry holding every built-in pass.
PassRegistry make_default_registry();

}  // namespace mopt
