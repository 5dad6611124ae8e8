// Runtime settings: --threads reaches every thread pool that runs mopt's kernels.
#include <doctest/doctest.h>
#include <dlfcn.h>

#include <ATen/Parallel.h>

#include "lib/runtime/runtime.h"

TEST_SUITE("runtime") {
  TEST_CASE("set_threads limits LibTorch and the OpenBLAS it multiplies matrices with") {
    using GetThreads = int (*)();
    const auto openblas_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    const bool found = openblas_threads != nullptr;
    REQUIRE_MESSAGE(found, "LibTorch here links OpenBLAS (scripts/setup.sh selects the pthreads build)");
    const int before = at::get_num_threads();
    for (int threads : {1, 2, 1}) {
      mopt::set_threads(threads);
      CHECK(at::get_num_threads() == threads);
      CHECK(openblas_threads() == threads);
    }
    mopt::set_threads(before);
  }
}
