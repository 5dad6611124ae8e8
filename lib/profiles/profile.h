#pragma once
// Device profiles: one JSON file per deployment target (profiles/*.json, schema
// profiles/profile.schema.json). A profile picks threads, engine, precision, artifact format,
// the compile pipeline and quantize defaults, and states budgets that become bench gates.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mopt {

/// What a target must meet; an empty optional is "no budget". MB are 10^6 bytes, as bench reports.
struct Budgets {
  int64_t batch = 1;  ///< batch size the latency and throughput budgets hold at
  std::optional<double> latency_p50_ms, latency_p95_ms, throughput_samples_per_s, peak_memory_mb, model_size_mb,
      min_accuracy_top1, max_cpu_percent;
};

/// Defaults `mopt quantize` takes from a profile when the flags do not say otherwise.
struct QuantizeDefaults {
  std::string mode = "static";
  std::string calibrator = "minmax";
  bool per_channel = true;
};

/// Defaults `mopt prune` takes from a profile.
struct PruneDefaults {
  int64_t round_to = 1;  ///< channel pruning keeps multiples of this (the target's SIMD width); 1 = off
};

/// One deployment target, as loaded and validated from its JSON file.
struct Profile {
  std::string name, description, architecture;  ///< architecture: x86_64, arm64 or armv7
  std::vector<std::string> isa_features;
  int cores = 1, threads = 1;
  std::string device = "cpu";  ///< cpu, or cuda: the artifact runs on an NVIDIA GPU
  std::string quantized_engine, precision, artifact_format;  ///< x86|fbgemm|onednn|qnnpack, fp32|int8|fp16, pt|ptl|onnx
  std::vector<std::string> runtimes;  ///< libtorch|libtorch-lite|onnxruntime|tensorrt, preferred first
  std::string compile_pipeline;                              ///< pipeline text
  QuantizeDefaults quantize;
  PruneDefaults prune;  ///< prune.round_to as written, or default_round_to(isa_features) when absent
  Budgets budgets;
  std::filesystem::path source;  ///< the file it was loaded from
  nlohmann::json raw;            ///< the file's JSON as written
};

/// The channel multiple a target's SIMD width asks for: 16 with avx512f (16 fp32 lanes), 8 with
/// avx2 (8 lanes) or neon (two 4-lane registers), else 1 (no rounding).
int64_t default_round_to(const std::vector<std::string>& isa_features);

/// Resolves NAME (a shipped profile) or a path to a .json file. Unknown name -> usage_error (exit 2)
/// listing the known names; a file that violates the schema -> invalid_input (exit 4) naming the
/// field and its line in the file.
Profile load_profile(const std::string& name_or_path);

/// The file NAME_OR_PATH refers to: an existing file or anything that looks like a path is taken as
/// one (missing -> invalid_input); otherwise a shipped profile's name (unknown -> usage_error).
std::filesystem::path resolve_profile_path(const std::string& name_or_path);

/// Every profile in profiles_dir(), sorted by name.
std::vector<Profile> shipped_profiles();

/// Names of the shipped profiles, sorted.
std::vector<std::string> shipped_profile_names();

/// Where shipped profiles live. Search order: $MOPT_PROFILES_DIR, <dir of the executable>/../share/mopt/profiles
/// (installed), MOPT_SOURCE_DIR "/profiles" (build tree). Throws runtime_failure when none exists.
std::filesystem::path profiles_dir();

/// Directories searched for profiles, in order (see profiles_dir()); the schema comes from the
/// first one holding profile.schema.json.
std::vector<std::filesystem::path> profile_search_dirs();

/// A profile file's text; unreadable -> invalid_input.
std::string read_profile_text(const std::filesystem::path& path);

/// Validates a JSON file against profiles/profile.schema.json with valijson, then checks what the
/// schema cannot say (threads <= cores, engine fits the architecture, p95 >= p50, pipeline syntax).
/// Returns errors as "field: message (line N)" strings, empty when valid; unreadable file -> invalid_input.
std::vector<std::string> validate_profile_file(const std::filesystem::path& path);

/// 1-based line in JSON `text` where the value at JSON pointer `pointer` (e.g. "/budgets/batch") is
/// written; for an absent member, the line of the nearest enclosing value that is present.
int field_line(const std::string& text, const std::string& pointer);

/// The profile architecture name of a `uname -m` machine string: x86_64/amd64 -> x86_64,
/// aarch64/arm64 -> arm64, armv7l/armv7*/armhf -> armv7; anything else is returned as is.
std::string normalize_architecture(const std::string& machine);

/// Whether the profile's architecture matches the host (x86_64 vs arm64/aarch64 vs armv7).
bool runs_on_host(const Profile& profile);

/// The runtime bench measures `model` with for this profile: the first of the profile's runtimes
/// that can run the file here (.onnx: onnxruntime or, imported, libtorch; .pt: libtorch; .ptl:
/// libtorch-lite, measured by LibTorch), else the file's own runtime (the runtime gate then fails).
std::string profile_runtime_for(const Profile& profile, const std::filesystem::path& model);

/// The runtime bench passes to the engine for a profile runtime: libtorch-lite files run in LibTorch.
inline std::string measured_runtime(const std::string& profile_runtime) {
  return profile_runtime == "libtorch-lite" ? "libtorch" : profile_runtime;
}

/// The profile's name for a runtime bench measures `model` with (`--runtime`): the inverse of
/// measured_runtime(), libtorch-lite for a .ptl file run in LibTorch.
inline std::string profile_runtime_name(const std::string& measured, const std::filesystem::path& model) {
  return measured == "libtorch" && model.extension() == ".ptl" ? "libtorch-lite" : measured;
}

/// Budgets as bench gate expressions in the `--fail-if` syntax, e.g. "latency.p50_ms > 50",
/// "memory.peak_mb > 100", "throughput.samples_per_s < 100", "model.file_mb > 1", "accuracy.top1 < 0.9".
std::vector<std::string> budget_gates(const Profile& profile);


}  // namespace mopt
