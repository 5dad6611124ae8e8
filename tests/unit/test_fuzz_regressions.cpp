// Replays every committed fuzz seed (tests/fuzz/corpus/TARGET/) and every input that once crashed
// a target (tests/fuzz/regressions/TARGET/) through the same target code libFuzzer runs, so the
// normal test run (any compiler, no libFuzzer) keeps them fixed.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "lib/util/log.h"
#include "tests/fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Replays every file under MOPT_FUZZ_DIR/KIND/TARGET; returns how many.
size_t replay(const char* kind) {
  mopt::set_verbosity(mopt::Verbosity::kQuiet);  // the importer logs a line per ONNX model
  size_t replayed = 0;
  for (const auto& target : mopt::fuzz::all_targets()) {
    auto dir = fs::path(MOPT_FUZZ_DIR) / kind / target.name;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto bytes = file_bytes(file);
      INFO("target ", std::string(target.name), ", input ", file.string());
      CHECK(target.run(bytes.data(), bytes.size()) == "");
      ++replayed;
    }
  }
  return replayed;
}

}  // namespace

TEST_SUITE("fuzz_regressions") {
  TEST_CASE("every target has a committed seed corpus") {
    for (const auto& target : mopt::fuzz::all_targets()) {
      INFO("target ", std::string(target.name));
      auto dir = fs::path(MOPT_FUZZ_DIR) / "corpus" / target.name;
      CHECK(fs::is_directory(dir));
      CHECK(fs::directory_iterator(dir) != fs::directory_iterator());
    }
  }

  TEST_CASE("seed corpora run clean") { CHECK(replay("corpus") > 0); }

  TEST_CASE("inputs that once crashed a target are handled") { CHECK(replay("regressions") > 0); }

  TEST_CASE("a finding is reported, not swallowed") {
    // The harness itself: a foreign exception or an unexpected exit code must come back as a finding.
    using mopt::ExitCode;
    CHECK(mopt::fuzz::refusals_only([] { throw std::out_of_range("x"); }, {ExitCode::kInvalidInput}) != "");
    CHECK(mopt::fuzz::refusals_only([] { throw mopt::runtime_failure("x"); }, {ExitCode::kInvalidInput}) != "");
    CHECK(mopt::fuzz::refusals_only([] { throw mopt::invalid_input("bad"); }, {ExitCode::kInvalidInput}, "f.npy") != "");
    CHECK(mopt::fuzz::refusals_only([] { throw mopt::invalid_input("f.npy: bad"); }, {ExitCode::kInvalidInput}, "f.npy") == "");
    CHECK(mopt::fuzz::refusals_only([] {}, {}) == "");
  }
}
