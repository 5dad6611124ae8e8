// Runs ONNX backend test cases (model.onnx + test_data_set_*/input_N.pb, output_N.pb), as shipped
// in Debian's libonnx-testdata (ONNX 1.12, opsets up to 17) or generated from the onnx 1.23 package
// (tests/conformance/generate_node_tests.py: the node tests of every opset), through mopt's
// importer and LibTorch, prints the counts per suite and per opset, and compares with the stored
// outputs the way the ONNX backend runner does (rtol 1e-3, atol 1e-7, exact dtype and shape).
//
// With --round-trip, every case that imports is also exported back to ONNX by mopt's exporter
// (at the first data set's shapes, dim 0 symbolic) and run in ONNX Runtime (one Node.js process
// for all cases, lib/runtime/ort/run_cases.js); its outputs are compared with the stored ones the same
// way: ONNX -> import -> export -> ORT must reproduce the original model.
//
// Usage: mopt_onnx_conformance [--expect FILE] [--write-passing FILE]
//          [--round-trip [--expect-round-trip FILE] [--write-round-trip FILE]] [--verbose] SUITE_DIR...
// Prints one line per failing case (all with --verbose), per-suite totals and an overall line.
// Exit 1 when a case listed in an --expect file (one "suite/test" per line) does not pass.
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/fed_inputs.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/graph_validation.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/util/child_process.h"
#include "lib/util/scratch_dir.h"

namespace fs = std::filesystem;

namespace {

enum class Outcome { kPass, kFail, kUnsupported };

struct CaseResult {
  Outcome outcome;
  std::string detail;
  int64_t opset = -1;  ///< the model's ai.onnx opset, -1 when it has none or did not load
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

// A string tensor is a Tuple[List[str], List[int]] in the imported module (lib/onnx/import/ops/strings.h).
std::string compare(const c10::IValue& expected, const c10::IValue& actual) {
  if (expected.isTensor() && actual.isTensor()) return compare(expected.toTensor(), actual.toTensor());
  if (!expected.isTuple() || !actual.isTuple()) return fmt::format("{} != expected {}", actual.tagKind(), expected.tagKind());
  const auto& e = expected.toTupleRef().elements();
  const auto& a = actual.toTupleRef().elements();
  if (a.size() != 2 || !a[0].isList() || !a[1].isIntList()) return "not a string tensor";
  if (e[1].toIntVector() != a[1].toIntVector()) {
    return fmt::format("shape [{}] != expected [{}]", fmt::join(a[1].toIntVector(), ","), fmt::join(e[1].toIntVector(), ","));
  }
  const auto want = e[0].toListRef(), got = a[0].toListRef();
  if (want.size() != got.size()) return fmt::format("{} strings, expected {}", got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].toStringRef() != got[i].toStringRef()) {
      return fmt::format("string {} is '{}', expected '{}'", i, got[i].toStringRef(), want[i].toStringRef());
    }
  }
  return "";
}

// A stored tensor: a string tensor as the imported module holds one, any other as read_tensor_pb reads it.
c10::IValue read_value(const fs::path& path) {
  onnx::TensorProto proto;
  std::ifstream in(path, std::ios::binary);
  if (proto.ParseFromIstream(&in) && proto.data_type() == onnx::TensorProto::STRING) {
    c10::List<std::string> strings;
    for (const auto& text : proto.string_data()) strings.push_back(text);
    c10::List<int64_t> shape;
    for (auto dim : proto.dims()) shape.push_back(dim);
    return c10::ivalue::Tuple::create({strings, shape});
  }
  return mopt::read_tensor_pb(path);
}

// The tensors of `values`, or nullopt when one is a string tensor (they do not export to ONNX).
std::optional<std::vector<at::Tensor>> tensors_of(const std::vector<c10::IValue>& values) {
  std::vector<at::Tensor> tensors;
  for (const auto& value : values) {
    if (!value.isTensor()) return std::nullopt;
    tensors.push_back(value.toTensor());
  }
  return tensors;
}

// One test_data_set_*: its inputs and the outputs the suite stores.
struct DataSet {
  std::string name;
  std::vector<c10::IValue> inputs, expected;
};

// A case that imported and matched: what its round trip needs.
struct Imported {
  mopt::Model model;
  std::vector<DataSet> sets;
};

// First difference between stored and computed outputs of one data set, or "".
std::string compare_set(const DataSet& set, const std::vector<c10::IValue>& actual) {
  if (actual.size() != set.expected.size()) return fmt::format("{} outputs, expected {}", actual.size(), set.expected.size());
  for (size_t i = 0; i < set.expected.size(); ++i) {
    auto difference = compare(set.expected[i], actual[i]);
    if (!difference.empty()) return fmt::format("{} output {}: {}", set.name, i, difference);
  }
  return "";
}

// ONNX 1.12's test data stores bfloat16 tensors as uint16 bit patterns: inputs are read as the
// bfloat16 that the model declares. Its expected bfloat16 outputs are truncated where ONNX (and
// LibTorch) round to nearest since ONNX 1.13; node-1.23 holds the same cases with today's data.
std::vector<c10::IValue> as_declared(std::vector<c10::IValue> values, const std::vector<int32_t>& declared,
                                     bool outputs) {
  for (size_t i = 0; i < values.size() && i < declared.size(); ++i) {
    if (declared[i] != onnx::TensorProto::BFLOAT16 || !values[i].isTensor() ||
        values[i].toTensor().scalar_type() != at::kUInt16) {
      continue;
    }
    if (outputs) throw mopt::invalid_input("bfloat16 outputs stored as uint16, truncated (ONNX 1.12's data)");
    values[i] = values[i].toTensor().view(at::kBFloat16);
  }
  return values;
}

CaseResult run_loaded_case(const fs::path& dir, onnx::ModelProto proto, std::optional<Imported>& imported_case) {
  std::vector<int32_t> input_types, output_types;
  for (int position : mopt::fed_inputs(proto.graph())) {
    input_types.push_back(proto.graph().input(position).type().tensor_type().elem_type());
  }
  for (const auto& output : proto.graph().output()) output_types.push_back(output.type().tensor_type().elem_type());
  auto unsupported = mopt::unsupported_ops(proto);
  if (!unsupported.empty()) return {Outcome::kUnsupported, mopt::describe_unsupported(unsupported)};
  mopt::Model imported;
  try {
    imported = mopt::to_torchscript(mopt::Model::from_onnx(std::move(proto)));
  } catch (const std::exception& e) {
    std::string message = e.what();
    bool refused = message.find("internal error") == std::string::npos && (message.find("unsupported:") != std::string::npos || message.find("mopt cannot") != std::string::npos ||
                   message.find("not supported") != std::string::npos || message.find("opset") == 0 ||
                   message.find("which mopt cannot execute") != std::string::npos);
    return {refused ? Outcome::kUnsupported : Outcome::kFail, "import: " + message.substr(0, 400)};
  }
  std::vector<fs::path> set_dirs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) set_dirs.push_back(entry.path());
  }
  std::sort(set_dirs.begin(), set_dirs.end());
  if (set_dirs.empty()) return {Outcome::kUnsupported, "no test data sets"};
  std::vector<DataSet> sets;
  for (const auto& set_dir : set_dirs) {
    DataSet set{set_dir.filename().string(), {}, {}};
    try {
      for (const auto& file : numbered_files(set_dir, "input")) set.inputs.push_back(read_value(file));
      for (const auto& file : numbered_files(set_dir, "output")) set.expected.push_back(read_value(file));
      set.inputs = as_declared(std::move(set.inputs), input_types, false);
      set.expected = as_declared(std::move(set.expected), output_types, true);
    } catch (const std::exception& e) {
      return {Outcome::kUnsupported, fmt::format("test data: {}", e.what())};
    }
    std::vector<c10::IValue> actual;
    try {
      torch::NoGradGuard no_grad;
      auto module = imported.torchscript();
      auto result = module.forward(set.inputs);
      if (output_types.size() == 1) actual = {result};
      else if (result.isTuple()) actual = result.toTupleRef().elements().vec();
    } catch (const std::exception& e) {
      return {Outcome::kFail, fmt::format("run: {}", mopt::short_torch_message(e.what()).substr(0, 400))};
    }
    auto difference = compare_set(set, actual);
    if (!difference.empty()) return {Outcome::kFail, difference};
    sets.push_back(std::move(set));
  }
  imported_case = Imported{std::move(imported), std::move(sets)};
  return {Outcome::kPass, ""};
}

// The case loaded, its opset noted (for the per-opset counts), then run.
CaseResult run_case(const fs::path& dir, std::optional<Imported>& imported_case) {
  onnx::ModelProto proto;
  try {
    proto = mopt::load_onnx(dir / "model.onnx");
  } catch (const std::exception& e) {
    return {Outcome::kUnsupported, fmt::format("load: {}", e.what())};
  }
  int64_t opset = -1;
  try {
    opset = mopt::onnx_import::model_opset(proto);
  } catch (const std::exception&) {
  }
  auto result = run_loaded_case(dir, std::move(proto), imported_case);
  result.opset = opset;
  return result;
}

// The round trip of the cases that imported: export each (export failures are results too), run
// all exported files in one ONNX Runtime process, compare. Returns one result per case, by name.
std::map<std::string, CaseResult> round_trip(const std::map<std::string, Imported>& cases) {
  std::map<std::string, CaseResult> results;
  mopt::ScratchDir scratch("mopt-conformance");
  nlohmann::json jobs = nlohmann::json::array();
  std::map<std::string, fs::path> case_dirs;
  int index = 0;
  for (const auto& [name, imported] : cases) {
    const auto dir = scratch.file(std::to_string(index++));
    fs::create_directories(dir);
    auto examples = tensors_of(imported.sets.front().inputs);
    if (!examples) {
      results[name] = {Outcome::kUnsupported, "export: string tensors have no ONNX export"};
      continue;
    }
    try {
      mopt::ExportOptions options;
      options.examples = *examples;
      mopt::Model::from_onnx(mopt::export_to_onnx(imported.model, options)).save(dir / "model.onnx");
    } catch (const std::exception& e) {
      std::string message = mopt::short_torch_message(e.what()).substr(0, 400);
      const bool refused = message.rfind("cannot export", 0) == 0;
      results[name] = {refused ? Outcome::kUnsupported : Outcome::kFail, "export: " + message};
      continue;
    }
    nlohmann::json sets = nlohmann::json::array();
    try {
      for (size_t s = 0; s < imported.sets.size(); ++s) {
        const auto set_dir = dir / std::to_string(s);
        fs::create_directories(set_dir);
        nlohmann::json inputs = nlohmann::json::array();
        for (size_t i = 0; i < imported.sets[s].inputs.size(); ++i) {
          const auto file = set_dir / fmt::format("input_{}.npy", i);
          mopt::write_npy(imported.sets[s].inputs[i].toTensor(), file);
          inputs.push_back(file.string());
        }
        sets.push_back({{"inputs", inputs}, {"output_dir", set_dir.string()}});
      }
    } catch (const mopt::Error& e) {  // a dtype .npy has no code for (bfloat16)
      results[name] = {Outcome::kUnsupported, fmt::format("inputs: {}", e.what())};
      continue;
    }
    jobs.push_back({{"model", (dir / "model.onnx").string()}, {"sets", sets}});
    case_dirs[name] = dir;
  }
  const auto jobs_file = scratch.file("cases.json");
  std::ofstream(jobs_file) << jobs.dump();
  const auto outcome = mopt::run_child(
      {mopt::node_executable(), (mopt::onnxruntime_dir() / "run_cases.js").string(), jobs_file.string()}, scratch.file("ort.log"));
  if (outcome.exit_code != 0) throw std::runtime_error("the ONNX Runtime helper failed: " + outcome.output_tail);
  for (const auto& [name, dir] : case_dirs) {
    const auto& imported = cases.at(name);
    CaseResult result{Outcome::kPass, ""};
    for (size_t s = 0; s < imported.sets.size() && result.outcome == Outcome::kPass; ++s) {
      const auto set_dir = dir / std::to_string(s);
      if (fs::exists(set_dir / "error.txt")) {
        std::ifstream in(set_dir / "error.txt");
        std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        result = {Outcome::kFail, "onnxruntime " + message.substr(0, 400)};
        break;
      }
      std::vector<c10::IValue> actual;
      for (size_t i = 0;; ++i) {
        const auto file = set_dir / fmt::format("output_{}.npy", i);
        if (!fs::exists(file)) break;
        actual.push_back(mopt::read_npy(file));
      }
      auto difference = compare_set(imported.sets[s], actual);
      if (!difference.empty()) result = {Outcome::kFail, "onnxruntime " + difference};
    }
    results[name] = result;
  }
  return results;
}

struct Tally {
  int pass = 0, fail = 0, unsupported = 0;
  void add(Outcome outcome) { ++(outcome == Outcome::kPass ? pass : outcome == Outcome::kFail ? fail : unsupported); }
};

// Cases of `expect_file` (one "suite/test" per line) missing from `passing`, each printed.
int regressions(const fs::path& expect_file, const std::set<std::string>& passing, const std::string& what) {
  std::ifstream in(expect_file);
  if (!in) throw std::runtime_error("cannot read " + expect_file.string());
  int count = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!passing.count(line)) {
      std::cout << "REGRESSION " << line << " no longer passes " << what << "\n";
      ++count;
    }
  }
  return count;
}

void write_list(const fs::path& file, const std::set<std::string>& names) {
  std::ofstream out(file);
  for (const auto& name : names) out << name << "\n";
}

void print_outcome(const std::string& prefix, const std::string& name, const CaseResult& result, bool verbose) {
  if (result.outcome == Outcome::kFail) std::cout << "FAIL " << prefix << name << ": " << result.detail << "\n";
  else if (verbose) std::cout << (result.outcome == Outcome::kPass ? "PASS " : "UNSUPPORTED ") << prefix << name
                              << (result.detail.empty() ? "" : ": " + result.detail) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> suites;
  fs::path expect_file, write_passing, expect_round_trip, write_round_trip;
  bool verbose = false, with_round_trip = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--expect" && i + 1 < argc) expect_file = argv[++i];
    else if (arg == "--write-passing" && i + 1 < argc) write_passing = argv[++i];
    else if (arg == "--round-trip") with_round_trip = true;
    else if (arg == "--expect-round-trip" && i + 1 < argc) expect_round_trip = argv[++i];
    else if (arg == "--write-round-trip" && i + 1 < argc) write_round_trip = argv[++i];
    else if (arg == "--verbose") verbose = true;
    else suites.emplace_back(arg);
  }
  if (suites.empty()) {
    std::cerr << "usage: mopt_onnx_conformance [--expect FILE] [--write-passing FILE] [--round-trip [--expect-round-trip FILE] "
                 "[--write-round-trip FILE]] [--verbose] SUITE_DIR...\n";
    return 2;
  }
  at::set_num_threads(1);
  std::set<std::string> passing, round_trip_passing;
  Tally total, total_round_trip;
  std::map<int64_t, Tally> by_opset;  // import-and-run, over every suite
  try {
    for (const auto& suite : suites) {
      std::vector<fs::path> cases;
      for (const auto& entry : fs::directory_iterator(suite)) {
        if (fs::exists(entry.path() / "model.onnx")) cases.push_back(entry.path());
      }
      std::sort(cases.begin(), cases.end());
      Tally tally;
      std::map<std::string, Imported> imported;
      for (const auto& dir : cases) {
        auto name = suite.filename().string() + "/" + dir.filename().string();
        std::optional<Imported> imported_case;
        auto result = run_case(dir, imported_case);
        tally.add(result.outcome);
        by_opset[result.opset].add(result.outcome);
        print_outcome("", name, result, verbose);
        if (result.outcome != Outcome::kPass) continue;
        passing.insert(name);
        if (with_round_trip) imported.emplace(name, std::move(*imported_case));
      }
      std::cout << fmt::format("suite {:<18} {:>4} passed {:>4} failed {:>4} unsupported (of {})\n", suite.filename().string(),
                               tally.pass, tally.fail, tally.unsupported, cases.size());
      total.pass += tally.pass, total.fail += tally.fail, total.unsupported += tally.unsupported;
      if (!with_round_trip) continue;
      Tally trip;
      for (const auto& [name, result] : round_trip(imported)) {
        trip.add(result.outcome);
        print_outcome("round trip ", name, result, verbose);
        if (result.outcome == Outcome::kPass) round_trip_passing.insert(name);
      }
      std::cout << fmt::format("  round trip (import, export, ONNX Runtime) {:>4} passed {:>4} failed {:>4} export unsupported (of {})\n",
                               trip.pass, trip.fail, trip.unsupported, imported.size());
      total_round_trip.pass += trip.pass, total_round_trip.fail += trip.fail, total_round_trip.unsupported += trip.unsupported;
    }
    for (const auto& [opset, tally] : by_opset) {
      const int cases = tally.pass + tally.fail + tally.unsupported;
      std::cout << fmt::format("opset {:>2}: {:>4} passed {:>4} failed {:>4} unsupported (of {}, {:.1f}% pass)\n",
                               opset < 0 ? std::string("?") : std::to_string(opset), tally.pass, tally.fail,
                               tally.unsupported, cases, 100.0 * tally.pass / std::max(cases, 1));
    }
    std::cout << fmt::format("total: {} passed, {} failed, {} unsupported\n", total.pass, total.fail, total.unsupported);
    if (with_round_trip) {
      std::cout << fmt::format("round trip total: {} passed, {} failed, {} export unsupported\n", total_round_trip.pass,
                               total_round_trip.fail, total_round_trip.unsupported);
    }
    if (!write_passing.empty()) write_list(write_passing, passing);
    if (!write_round_trip.empty()) write_list(write_round_trip, round_trip_passing);
    int count = 0;
    if (!expect_file.empty()) count += regressions(expect_file, passing, "import");
    if (!expect_round_trip.empty()) count += regressions(expect_round_trip, round_trip_passing, "the round trip");
    if (!expect_file.empty() || !expect_round_trip.empty()) std::cout << fmt::format("expected passes checked: {} regressions\n", count);
    return count ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "mopt_onnx_conformance: " << e.what() << "\n";
    return 2;
  }
}
