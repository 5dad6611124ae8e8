// Runs ONNX backend test cases (model.onnx + test_data_set_*/input_N.pb, output_N.pb), as shipped
// in Debian's libonnx-testdata, through mopt's importer and LibTorch, and compares with the stored
// outputs the way the ONNX backend runner does (rtol 1e-3, atol 1e-7, exact dtype and shape).
//
// Usage: mopt_onnx_conformance [--expect FILE] [--write-passing FILE] [--verbose] SUITE_DIR...
// Prints one line per failing case (all with --verbose), per-suite totals and an overall line.
// Exit 1 when a case listed in --expect (one "suite/test" per line) does not pass.
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"

namespace fs = std::filesystem;

namespace {

enum class Outcome { kPass, kFail, kUnsupported };

struct CaseResult {
  Outcome outcome;
  std::string detail;
};

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    auto path = dir / fmt::format("{}_{}.pb", prefix, i);
    if (!fs::exists(path)) return files;
    files.push_back(path);
  }
}

std::string compare(const at::Tensor& expected, const at::Tensor& actual) {
  if (expected.scalar_type() != actual.scalar_type()) {
    return fmt::format("dtype {} != expected {}", c10::toString(actual.scalar_type()), c10::toString(expected.scalar_type()));
  }
  if (expected.sizes() != actual.sizes()) {
    return fmt::format("shape [{}] != expected [{}]", fmt::join(actual.sizes(), ","), fmt::join(expected.sizes(), ","));
  }
  if (expected.is_floating_point()) {
    auto e = expected.to(at::kDouble), a = actual.to(at::kDouble);
    if (!at::allclose(a, e, 1e-3, 1e-7, /*equal_nan=*/true)) {
      return fmt::format("values differ (max abs diff {:.3g})", (a - e).abs().nan_to_num(0).max().item<double>());
    }
  } else if (!at::equal(expected, actual)) {
    return "values differ";
  }
  return "";
}

CaseResult run_case(const fs::path& dir) {
  onnx::ModelProto proto;
  try {
    proto = mopt::load_onnx(dir / "model.onnx");
  } catch (const std::exception& e) {
    return {Outcome::kUnsupported, fmt::format("load: {}", e.what())};
  }
  auto unsupported = mopt::unsupported_ops(proto);
  if (!unsupported.empty()) return {Outcome::kUnsupported, mopt::describe_unsupported(unsupported)};
  mopt::ImportedOnnx imported;
  try {
    imported = mopt::import_onnx(proto);
  } catch (const std::exception& e) {
    std::string message = e.what();
    bool refused = message.find("internal error") == std::string::npos && (message.find("unsupported:") != std::string::npos || message.find("mopt cannot") != std::string::npos ||
                   message.find("not supported") != std::string::npos || message.find("opset") == 0 ||
                   message.find("which mopt cannot execute") != std::string::npos);
    return {refused ? Outcome::kUnsupported : Outcome::kFail, "import: " + message.substr(0, 400)};
  }
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(entry.path());
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kUnsupported, "no test data sets"};
  for (const auto& set : sets) {
    std::vector<c10::IValue> inputs;
    std::vector<at::Tensor> expected;
    try {
      for (const auto& file : numbered_files(set, "input")) inputs.emplace_back(mopt::read_tensor_pb(file));
      for (const auto& file : numbered_files(set, "output")) expected.push_back(mopt::read_tensor_pb(file));
    } catch (const std::exception& e) {
      return {Outcome::kUnsupported, fmt::format("test data: {}", e.what())};
    }
    std::vector<at::Tensor> actual;
    try {
      torch::NoGradGuard no_grad;
      auto output = imported.module.forward(inputs);
      if (output.isTuple()) {
        for (const auto& element : output.toTupleRef().elements()) actual.push_back(element.toTensor());
      } else {
        actual.push_back(output.toTensor());
      }
    } catch (const std::exception& e) {
      return {Outcome::kFail, fmt::format("run: {}", mopt::short_torch_message(e.what()).substr(0, 400))};
    }
    if (actual.size() != expected.size()) {
      return {Outcome::kFail, fmt::format("{} outputs, expected {}", actual.size(), expected.size())};
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      auto difference = compare(expected[i], actual[i]);
      if (!difference.empty()) return {Outcome::kFail, fmt::format("{} output {}: {}", set.filename().string(), i, difference)};
    }
  }
  return {Outcome::kPass, ""};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> suites;
  fs::path expect_file, write_passing;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--expect" && i + 1 < argc) expect_file = argv[++i];
    else if (arg == "--write-passing" && i + 1 < argc) write_passing = argv[++i];
    else if (arg == "--verbose") verbose = true;
    else suites.emplace_back(arg);
  }
  if (suites.empty()) {
    std::cerr << "usage: mopt_onnx_conformance [--expect FILE] [--write-passing FILE] [--verbose] SUITE_DIR...\n";
    return 2;
  }
  at::set_num_threads(1);
  std::set<std::string> passing;
  int total_pass = 0, total_fail = 0, total_unsupported = 0;
  for (const auto& suite : suites) {
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(suite)) {
      if (fs::exists(entry.path() / "model.onnx")) cases.push_back(entry.path());
    }
    std::sort(cases.begin(), cases.end());
    int pass = 0, fail = 0, unsupported = 0;
    for (const auto& dir : cases) {
      auto name = suite.filename().string() + "/" + dir.filename().string();
      auto result = run_case(dir);
      if (result.outcome == Outcome::kPass) {
        ++pass;
        passing.insert(name);
        if (verbose) std::cout << "PASS " << name << "\n";
      } else if (result.outcome == Outcome::kFail) {
        ++fail;
        std::cout << "FAIL " << name << ": " << result.detail << "\n";
      } else {
        ++unsupported;
        if (verbose) std::cout << "UNSUPPORTED " << name << ": " << result.detail << "\n";
      }
    }
    std::cout << fmt::format("suite {:<18} {:>4} passed {:>4} failed {:>4} unsupported (of {})\n", suite.filename().string(),
                             pass, fail, unsupported, cases.size());
    total_pass += pass;
    total_fail += fail;
    total_unsupported += unsupported;
  }
  std::cout << fmt::format("total: {} passed, {} failed, {} unsupported\n", total_pass, total_fail, total_unsupported);
  if (!write_passing.empty()) {
    std::ofstream out(write_passing);
    for (const auto& name : passing) out << name << "\n";
  }
  int regressions = 0;
  if (!expect_file.empty()) {
    std::ifstream in(expect_file);
    if (!in) {
      std::cerr << "cannot read " << expect_file << "\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      if (!passing.count(line)) {
        std::cout << "REGRESSION " << line << " no longer passes\n";
        ++regressions;
      }
    }
    std::cout << fmt::format("expected passes checked: {} regressions\n", regressions);
  }
  return regressions ? 1 : 0;
}
