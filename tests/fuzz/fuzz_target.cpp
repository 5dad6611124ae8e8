#include "tests/fuzz/fuzz_target.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <new>
#include <typeinfo>

#include "tests/fuzz/targets/targets.h"

namespace mopt::fuzz {

const std::vector<FuzzTarget>& all_targets() {
  static const std::vector<FuzzTarget> targets = {
      {"onnx_model", "ONNX bytes -> Model::load, onnx::checker, import_onnx, the ONNX passes", run_onnx_model},
      {"torchscript", "TorchScript zip -> Model::load (code, pickled constants) + summarize_model", run_torchscript},
      {"pipeline", "pipeline text -> parse/print round trip + validate_pipeline", run_pipeline_text},
      {"profile", "device profile JSON -> load_profile + its pipeline and budget gates", run_profile},
      {"baseline_report", "report JSON -> read_report as --baseline, check_regressions, compare_reports", run_baseline_report},
      {"npy", ".npy bytes -> read_tensor_file", run_npy},
      {"idx", "IDX bytes, raw or gzip -> read_tensor_file", run_idx},
      {"tensor_pb", "onnx.TensorProto bytes -> read_tensor_pb", run_tensor_pb},
      {"torch_saved", "torch.save zip -> read_tensor_file", run_torch_saved},
      {"input_spec", "--input-shape text -> parse_input_spec (+ synthetic_input when small)", run_input_spec},
      {"gate", "--fail-if / --max-regression text -> parse_gate, parse_regression, evaluate_fail_if", run_gate},
      {"manifest", "batch manifest JSON -> load_manifest", run_manifest},
      {"manifest_yaml", "batch manifest YAML -> yaml_to_json_text, load_manifest", run_manifest_yaml},
  };
  return targets;
}

const FuzzTarget* find_target(const std::string& name) {
  const auto& targets = all_targets();
  auto it = std::find_if(targets.begin(), targets.end(), [&](const FuzzTarget& t) { return name == t.name; });
  return it == targets.end() ? nullptr : &*it;
}

std::filesystem::path write_scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  // One folder per process: libFuzzer's -fork/-jobs modes run several processes at once. It is
  // removed when the process exits normally (a crash keeps it, with the input that crashed).
  struct ScratchDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / fmt::format("mopt-fuzz-{}", getpid());
    ScratchDir() { std::filesystem::create_directories(path); }
    ~ScratchDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ScratchDir dir;
  auto path = dir.path / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error(fmt::format("fuzz harness: cannot write scratch file {}", path.string()));
  return path;
}

std::string refusals_only(const std::function<void()>& body, std::initializer_list<ExitCode> allowed,
                          const std::filesystem::path& file) {
  try {
    body();
    return "";
  } catch (const Error& e) {
    if (std::find(allowed.begin(), allowed.end(), e.code()) == allowed.end()) {
      return fmt::format("mopt::Error with exit code {} (not an input refusal): {}", static_cast<int>(e.code()), e.what());
    }
    if (!file.empty() && e.code() == ExitCode::kInvalidInput &&
        std::string(e.what()).find(file.filename().string()) == std::string::npos) {
      return fmt::format("invalid_input does not name the file '{}': {}", file.string(), e.what());
    }
    return "";
  } catch (const c10::Error& e) {
    return fmt::format("c10::Error escaped (exit 1, not 4): {}", short_torch_message(e.what()));
  } catch (const std::bad_alloc&) {
    return "std::bad_alloc escaped: a declared size was allocated before it was checked";
  } catch (const std::exception& e) {
    return fmt::format("{} escaped (exit 1, not 4): {}", typeid(e).name(), e.what());
  }
}

}  // namespace mopt::fuzz
