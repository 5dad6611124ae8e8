#include "lib/runtime/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "lib/errors.h"

namespace mopt {
namespace {

std::string engine_name(at::QEngine engine) {
  auto name = c10::toString(engine);  // "ONEDNN", "QNNPACK", "FBGEMM", "X86", "NoQEngine"
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name;
}

}  // namespace

std::vector<std::string> available_engines() {
  std::vector<std::string> names;
  for (auto engine : at::globalContext().supportedQEngines()) {
    if (engine != at::QEngine::NoQEngine) names.push_back(engine_name(engine));
  }
  return names;
}

std::string active_engine() { return engine_name(at::globalContext().qEngine()); }

std::string default_engine() {
  auto engines = available_engines();
  auto has = [&](const std::string& e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
#if defined(__x86_64__) || defined(_M_X64)
  for (const char* e : {"x86", "fbgemm", "onednn"}) if (has(e)) return e;
#else
  if (has("qnnpack")) return "qnnpack";
#endif
  return engines.empty() ? "none" : engines.front();
}

int active_threads() { return at::get_num_threads(); }

void set_threads(int threads) {
  at::set_num_threads(threads);
  // Measured: with only at::set_num_threads(1), a 1024x1024 fp32 matmul used both cores here
  // (0.52 s of CPU in 0.31 s). Looked up at run time: with another BLAS the symbol is absent.
  using SetBlasThreads = void (*)(int);
  static const auto set_blas_threads = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_blas_threads) set_blas_threads(threads);
}

namespace {
bool pinned = false;
}  // namespace

bool engine_pinned() { return pinned; }

bool use_engine(const std::string& wanted) {
  for (auto engine : at::globalContext().supportedQEngines()) {
    if (engine != at::QEngine::NoQEngine && engine_name(engine) == wanted) {
      at::globalContext().setQEngine(engine);
      return true;
    }
  }
  return false;
}

void apply_runtime_settings(const RuntimeSettings& settings) {
  if (settings.threads < 0) throw usage_error("--threads must be 0 (all cores) or a positive count");
  int threads = settings.threads > 0 ? settings.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  set_threads(threads);

  pinned = !settings.engine.empty();
  std::string wanted = settings.engine.empty() ? default_engine() : settings.engine;
  if (wanted == "none" || use_engine(wanted)) return;
  throw usage_error(fmt::format("quantized engine '{}' is not available here; available: {}", wanted,
                                fmt::join(available_engines(), ", ")));
}

}  // namespace mopt
