#pragma once
// One setup function per subcommand; each file parses flags and calls the library.
#include <CLI/CLI.hpp>

#include "tools/mopt/common.h"

namespace mopt::cli {

void setup_inspect(CLI::App& app);
void setup_passes(CLI::App& app);
void setup_optimize(CLI::App& app);
void setup_bench(CLI::App& app);
void setup_quantize(CLI::App& app);
void setup_compile(CLI::App& app);
void setup_profiles(CLI::App& app);
void setup_distill(CLI::App& app);
void setup_prune(CLI::App& app);
void setup_batch(CLI::App& app);

}  // namespace mopt::cli
