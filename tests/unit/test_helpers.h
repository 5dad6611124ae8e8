#pragma once
// Shared helpers for unit tests: fixture paths, running a pipeline by text, temp dirs.
#include <doctest/doctest.h>

#include <torch/csrc/jit/runtime/interpreter.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/model/graph_walk.h"
#include "lib/util/address_sanitizer.h"
#include "lib/pipeline/pass_manager.h"
#include "passes/register_all_passes.h"

namespace mopt::test {

/// How many nodes of each kind `graph` holds, nested blocks included.
inline std::map<std::string, int64_t> op_counts(torch::jit::Graph& graph) {
  std::map<std::string, int64_t> counts;
  for (auto* node : all_nodes(graph.block())) ++counts[node->kind().toQualString()];
  return counts;
}

/// The first output of `graph` on `inputs`, run by the interpreter (which works on a copy).
inline at::Tensor run_graph(const std::shared_ptr<torch::jit::Graph>& graph, const std::vector<c10::IValue>& inputs) {
  torch::jit::Code code(graph, "forward");
  torch::jit::InterpreterState state(code);
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  state.run(stack);
  return stack.front().toTensor();
}

/// A generated fixture (scripts/make_fixtures.sh writes build/fixtures).
inline std::filesystem::path fixture(const std::string& name) { return std::filesystem::path(MOPT_FIXTURES_DIR) / name; }
/// A committed fixture (tests/fixtures).
inline std::filesystem::path committed(const std::string& name) {
  return std::filesystem::path(MOPT_COMMITTED_FIXTURES_DIR) / name;
}

/// A generated fixture model with its saved input and PyTorch's output for it.
struct FixtureCase {
  Model model;
  torch::Tensor input;
  torch::Tensor expected;
};

/// Loads NAME.pt, NAME.input.npy and NAME.output.npy from the generated fixtures.
inline FixtureCase load_case(const std::string& name) {
  return {Model::load(fixture(name + ".pt")), read_npy(fixture(name + ".input.npy")),
          read_npy(fixture(name + ".output.npy"))};
}

/// Runs pipeline text through the registry, as the CLI does.
inline PipelineResult run_text(const Model& model, const std::string& text) {
  static const PassRegistry registry = make_default_registry();
  return run_pipeline(model, parse_pipeline(text), registry);
}

/// The exit code a callable throws as mopt::Error, or -1 when it does not throw one.
template <typename F>
int thrown_code(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return static_cast<int>(e.code());
  }
  return -1;
}

/// The message of the mopt::Error that `f` throws ("" when it throws none).
template <typename F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// True when `part` occurs in `text`.
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Signal-to-quantization-noise ratio of `actual` against `reference`, in dB.
inline double sqnr_db(const torch::Tensor& reference, const torch::Tensor& actual) {
  return 10 * std::log10(reference.pow(2).sum().item<double>() / (reference - actual).pow(2).sum().item<double>());
}

/// A fresh empty directory under the system temp dir, removed when the test process exits (so a
/// test suite leaves nothing in /tmp, whatever its test cases remove themselves).
inline std::filesystem::path temp_dir(const std::string& name) {
  struct RemovedAtExit {
    std::vector<std::filesystem::path> dirs;
    ~RemovedAtExit() {
      std::error_code ignored;
      for (const auto& dir : dirs) std::filesystem::remove_all(dir, ignored);
    }
  };
  static RemovedAtExit created;
  auto dir = std::filesystem::temp_directory_path() / ("mopt-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  created.dirs.push_back(dir);
  return dir;
}

}  // namespace mopt::test
