#include "lib/util/log.h"

namespace mopt {
namespace {
Verbosity g_verbosity = Verbosity::kNormal;
}

void set_verbosity(Verbosity verbosity) { g_verbosity = verbosity; }
Verbosity verbosity() { return g_verbosity; }

}  // namespace mopt
