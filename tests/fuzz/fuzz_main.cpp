// libFuzzer entry point for every target in fuzz_target.cpp; MOPT_FUZZ_TARGET picks one (one
// binary links LibTorch once, which keeps the sanitizer build's link time down).
#include <cstdio>
#include <cstdlib>

#include "lib/util/log.h"
#include "tests/fuzz/fuzz_target.h"

namespace {
const mopt::fuzz::FuzzTarget* g_target = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* name = std::getenv("MOPT_FUZZ_TARGET");
  g_target = name ? mopt::fuzz::find_target(name) : nullptr;
  if (!g_target) {
    std::fprintf(stderr, "set MOPT_FUZZ_TARGET to one of:");
    for (const auto& t : mopt::fuzz::all_targets()) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  mopt::set_verbosity(mopt::Verbosity::kQuiet);  // the importer's progress lines would flood the log
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto finding = g_target->run(data, size);
  if (!finding.empty()) {
    std::fprintf(stderr, "mopt fuzz target %s: %s\n", g_target->name, finding.c_str());
    std::abort();  // libFuzzer saves the input as crash-*
  }
  return 0;
}
