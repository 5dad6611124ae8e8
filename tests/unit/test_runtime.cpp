// Runtime settings: --threads reaches every thread pool that runs mopt's kernels; the busy-machine
// meter does not count mopt's own child processes; the ASan build's tensor cache.
#include <doctest/doctest.h>
#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "lib/measure/cpu_info.h"
#include "lib/runtime/asan_tensor_cache.h"
#include "lib/runtime/runtime.h"
#include "lib/util/address_sanitizer.h"
#include "lib/util/child_process.h"
#ifdef MOPT_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
#endif

TEST_SUITE("runtime") {
  TEST_CASE("set_threads limits LibTorch and, where LibTorch multiplies in OpenBLAS, OpenBLAS too") {
    // Debian's LibTorch 1.13 used OpenBLAS, whose pool ignores at::set_num_threads; the wheel's 2.x
    // uses MKL, which follows it (no OpenBLAS symbol in the process then).
    using GetThreads = int (*)();
    const auto openblas_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    const int before = at::get_num_threads();
    for (int threads : {1, 2, 1}) {
      mopt::set_threads(threads);
      CHECK(at::get_num_threads() == threads);
      if (openblas_threads) CHECK(openblas_threads() == threads);
    }
    mopt::set_threads(before);
  }

  // The commands time saved files in child processes: their CPU is this run's own, not another
  // process's. A child keeping both cores busy for 2 s read as 2 foreign cores before. (Under
  // `ctest -j2` another test may take up to one core from it, which is foreign: hence 1.5.)
  constexpr const char* kSpinBothCores =
      "timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done'; wait; exit 0";
  TEST_CASE("ForeignLoadMeter counts waited-for child processes as this process's own CPU") {
    mopt::ForeignLoadMeter meter;
    const auto log = std::filesystem::temp_directory_path() / "mopt-foreign-load-child.log";
    const auto outcome = mopt::run_child({"/bin/sh", "-c", kSpinBothCores}, log);
    std::filesystem::remove(log);
    REQUIRE(outcome.exit_code == 0);
    const double foreign = meter.foreign_cores();
    CAPTURE(foreign);
    CHECK(foreign >= 0);
    CHECK(foreign < 1.5);
  }

  // CI's sanitized suite runs several times faster with it (scripts/sanitize.sh); what it must not
  // cost is ASan's report of mopt code reading a freed tensor's buffer.
  TEST_CASE("the ASan build reuses a freed tensor buffer of the same size and keeps it poisoned until then") {
#ifdef MOPT_ADDRESS_SANITIZER
    REQUIRE(mopt::install_asan_tensor_cache());  // main() installed it already; again is harmless
    auto first = torch::empty({1 << 16});        // 256 KiB: above ASan's own size classes
    void* data = first.data_ptr();
    first.reset();
    CHECK(__asan_address_is_poisoned(data));
    CHECK(__asan_address_is_poisoned(static_cast<char*>(data) + (1 << 18) - 1));
    auto other_size = torch::empty({(1 << 16) + 16});
    CHECK(other_size.data_ptr() != data);
    auto same_size = torch::empty({1 << 16});
    CHECK(same_size.data_ptr() == data);
    CHECK_FALSE(__asan_address_is_poisoned(data));
    same_size.fill_(1.0f);
    CHECK(same_size.sum().item<float>() == doctest::Approx(1 << 16));
#else
    CHECK_FALSE(mopt::install_asan_tensor_cache());  // a plain build keeps LibTorch's allocator
#endif
  }
}
