#include "lib/profiles/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/measure/gates.h"
#include "lib/model/model.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt {
namespace {

constexpr const char* kSchemaFile = "profile.schema.json";

}  // namespace

std::string read_profile_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid_input(fmt::format("cannot read profile {}: check the path and permissions", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> profile_search_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("MOPT_PROFILES_DIR"); env && *env) {
    if (!fs::is_directory(env)) {
      throw invalid_input(fmt::format("MOPT_PROFILES_DIR={} is not a directory; unset it or point it at a folder of profiles", env));
    }
    dirs.emplace_back(env);
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path() / ".." / "share" / "mopt" / "profiles";
    if (fs::is_directory(installed)) dirs.push_back(installed.lexically_normal());
  }
  fs::path source = fs::path(MOPT_SOURCE_DIR) / "profiles";
  if (fs::is_directory(source)) dirs.push_back(source);
  return dirs;
}

namespace {

template <typename T>
T value_or(const json& object, const char* key, T fallback) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? fallback : it->get<T>();
}

std::optional<double> budget(const json& budgets, const char* key) {
  auto it = budgets.find(key);
  if (it == budgets.end() || it->is_null()) return std::nullopt;
  return it->get<double>();
}

Profile from_json(const json& doc, const fs::path& source) {
  Profile p;
  p.name = doc["name"].get<std::string>();
  p.description = doc["description"].get<std::string>();
  p.architecture = doc["architecture"].get<std::string>();
  p.isa_features = value_or(doc, "isa_features", std::vector<std::string>{});
  p.cores = doc["cores"].get<int>();
  p.threads = doc["threads"].get<int>();
  p.device = value_or<std::string>(doc, "device", "cpu");
  p.quantized_engine = doc["quantized_engine"].get<std::string>();
  p.precision = doc["precision"].get<std::string>();
  p.artifact_format = doc["artifact_format"].get<std::string>();
  const std::string format_runtime = p.artifact_format == "onnx" ? "onnxruntime" : p.artifact_format == "ptl" ? "libtorch-lite" : "libtorch";
  p.runtimes = value_or(doc, "runtimes", std::vector<std::string>{format_runtime});
  p.compile_pipeline = doc["compile_pipeline"].get<std::string>();
  const json quantize = doc.value("quantize", json::object());
  p.quantize.mode = value_or(quantize, "mode", p.quantize.mode);
  p.quantize.calibrator = value_or(quantize, "calibrator", p.quantize.calibrator);
  p.quantize.per_channel = value_or(quantize, "per_channel", p.quantize.per_channel);
  const json prune = doc.value("prune", json::object());
  p.prune.round_to = value_or<int64_t>(prune, "round_to", default_round_to(p.isa_features));
  const json& b = doc["budgets"];
  p.budgets.batch = value_or<int64_t>(b, "batch", 1);
  p.budgets.latency_p50_ms = budget(b, "latency_p50_ms");
  p.budgets.latency_p95_ms = budget(b, "latency_p95_ms");
  p.budgets.throughput_samples_per_s = budget(b, "throughput_samples_per_s");
  p.budgets.peak_memory_mb = budget(b, "peak_memory_mb");
  p.budgets.model_size_mb = budget(b, "model_size_mb");
  p.budgets.min_accuracy_top1 = budget(b, "min_accuracy_top1");
  p.budgets.max_cpu_percent = budget(b, "max_cpu_percent");
  p.source = source;
  p.raw = doc;
  return p;
}

}  // namespace

std::string profile_runtime_for(const Profile& profile, const fs::path& model) {
  std::vector<std::string> can_run;  // what bench can measure this file with, in the file's own order
  if (model.extension() == ".ptl") can_run = {"libtorch-lite"};
  else if (detect_format(model) == ModelFormat::kOnnx) can_run = {"onnxruntime", "libtorch"};
  else can_run = {"libtorch"};
  for (const auto& r : profile.runtimes) {
    if (std::find(can_run.begin(), can_run.end(), r) != can_run.end()) return r;
  }
  return can_run.front();
}

int64_t default_round_to(const std::vector<std::string>& isa_features) {
  auto has = [&](const char* feature) {
    return std::find(isa_features.begin(), isa_features.end(), feature) != isa_features.end();
  };
  if (has("avx512f")) return 16;
  if (has("avx2") || has("neon")) return 8;
  return 1;
}

fs::path profiles_dir() {
  auto dirs = profile_search_dirs();
  if (dirs.empty()) {
    throw runtime_failure(fmt::format("no profiles directory found (looked in $MOPT_PROFILES_DIR, <mopt>/../share/mopt/profiles, "
                                      "{}/profiles); set MOPT_PROFILES_DIR", MOPT_SOURCE_DIR));
  }
  return dirs.front();
}

std::vector<std::string> shipped_profile_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(profiles_dir())) {
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".json" && file.find(".schema.") == std::string::npos) {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Profile> shipped_profiles() {
  std::vector<Profile> profiles;
  for (const auto& name : shipped_profile_names()) profiles.push_back(load_profile((profiles_dir() / (name + ".json")).string()));
  return profiles;
}

fs::path resolve_profile_path(const std::string& name_or_path) {
  fs::path as_path(name_or_path);
  bool looks_like_path = name_or_path.find('/') != std::string::npos || as_path.extension() == ".json";
  if (looks_like_path || fs::is_regular_file(as_path)) {
    if (!fs::is_regular_file(as_path)) {
      throw invalid_input(fmt::format("profile file {} does not exist; give a shipped profile name or an existing .json file",
                                      name_or_path));
    }
    return as_path;
  }
  fs::path shipped = profiles_dir() / (name_or_path + ".json");
  if (fs::is_regular_file(shipped)) return shipped;
  throw usage_error(fmt::format("unknown profile '{}'; known profiles: {} (or give a path to a .json file; `mopt profiles list` "
                                "describes them)",
                                name_or_path, fmt::join(shipped_profile_names(), ", ")));
}

Profile load_profile(const std::string& name_or_path) {
  fs::path path = resolve_profile_path(name_or_path);
  auto errors = validate_profile_file(path);
  if (!errors.empty()) {
    throw invalid_input(fmt::format("profile {} is invalid (schema: {}):\n  {}", path.string(), kSchemaFile,
                                    fmt::join(errors, "\n  ")));
  }
  return from_json(json::parse(read_profile_text(path)), path);
}

std::string normalize_architecture(const std::string& machine) {
  if (machine == "x86_64" || machine == "amd64" || machine == "x64") return "x86_64";
  if (machine == "aarch64" || machine == "arm64" || machine == "armv8" || machine.rfind("armv8", 0) == 0) return "arm64";
  if (machine.rfind("armv7", 0) == 0 || machine == "armhf" || machine == "arm") return "armv7";
  return machine;
}

bool runs_on_host(const Profile& profile) {
  return normalize_architecture(cpu_info().architecture) == normalize_architecture(profile.architecture);
}

std::vector<std::string> budget_gates(const Profile& profile) {
  // Each budget is a limit; the gate names the condition that breaks it, as `--fail-if` expects.
  const Budgets& b = profile.budgets;
  std::vector<std::string> gates;
  auto add = [&](const std::optional<double>& limit, const char* field, const char* op) {
    if (limit) gates.push_back(fmt::format("{} {} {}", field, op, format_number(*limit)));
  };
  add(b.latency_p50_ms, "latency.p50_ms", ">");
  add(b.latency_p95_ms, "latency.p95_ms", ">");
  add(b.throughput_samples_per_s, "throughput.samples_per_s", "<");
  // The memory the model adds over the runtime's baseline: on the host, mopt's own process (~170 MB
  // resident with LibTorch loaded) would otherwise eat a small device's whole budget.
  add(b.peak_memory_mb, "memory.increase_mb", ">");
  add(b.model_size_mb, "model.file_mb", ">");
  add(b.min_accuracy_top1, "accuracy.top1", "<");
  // Of all the host's cores, over warm-up and timed calls (bench's row field cpu.percent).
  add(b.max_cpu_percent, "cpu.percent", ">");
  return gates;
}

}  // namespace mopt
