#include "lib/runtime/asan_tensor_cache.h"

#include "lib/util/address_sanitizer.h"

#ifdef MOPT_ADDRESS_SANITIZER
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sanitizer/asan_interface.h>

#include <mutex>
#include <unordered_map>
#include <vector>
#endif

namespace mopt {

#ifdef MOPT_ADDRESS_SANITIZER
namespace {

// Buffers below this size come from ASan's size-class allocator, which reuses memory already.
constexpr size_t kMinCachedBytes = size_t{128} << 10;
// A bound on what the cache keeps, so a run that allocates many distinct sizes does not grow.
constexpr size_t kMaxCachedBytes = size_t{512} << 20;

// One instance for the process: the deleter LibTorch calls gets only the data pointer (some LibTorch
// code asserts that data and context are the same), so the sizes of live buffers are kept here.
class ReusingCpuAllocator final : public c10::Allocator {
 public:
  static ReusingCpuAllocator& instance() {
    static auto* allocator = new ReusingCpuAllocator();  // never destroyed: static tensors die after main()
    return *allocator;
  }

  c10::DataPtr allocate(size_t bytes) override {
    void* data = instance().take(bytes);
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }

 private:
  static void release(void* data) { instance().give_back(data); }

  void* take(size_t bytes) {
    if (bytes == 0) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    void* data = nullptr;
    auto cached = free_.find(bytes);
    if (bytes >= kMinCachedBytes && cached != free_.end() && !cached->second.empty()) {
      data = cached->second.back();
      cached->second.pop_back();
      cached_bytes_ -= bytes;
      ASAN_UNPOISON_MEMORY_REGION(data, bytes);
    } else {
      data = c10::alloc_cpu(bytes);
    }
    live_[data] = bytes;
    return data;
  }

  void give_back(void* data) {
    if (data == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto live = live_.find(data);
    if (live == live_.end()) return c10::free_cpu(data);  // not ours: allocated before install
    const size_t bytes = live->second;
    live_.erase(live);
    if (bytes < kMinCachedBytes || bytes > kMaxCachedBytes) return c10::free_cpu(data);
    // Full: the sizes cached so far are dropped, since a run's later phases reuse other sizes.
    if (cached_bytes_ + bytes > kMaxCachedBytes) drop_cached();
    ASAN_POISON_MEMORY_REGION(data, bytes);  // a read through a dangling pointer is still a report
    free_[bytes].push_back(data);
    cached_bytes_ += bytes;
  }

  void drop_cached() {
    for (auto& [bytes, blocks] : free_) {
      for (void* data : blocks) {
        ASAN_UNPOISON_MEMORY_REGION(data, bytes);
        c10::free_cpu(data);
      }
    }
    free_.clear();
    cached_bytes_ = 0;
  }

  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_bytes_ = 0;
};

}  // namespace

bool install_asan_tensor_cache() {
  c10::SetCPUAllocator(&ReusingCpuAllocator::instance(), /*priority=*/1);
  return true;
}
#else
bool install_asan_tensor_cache() { return false; }
#endif

}  // namespace mopt
