#pragma once
// Fuzz targets: each feeds one kind of untrusted input (a model file, a tensor file, a profile, a
// flag's text, ...) to the same library call the CLI makes on it. A target accepts the input or
// refuses it with mopt::Error and an allowed exit code; anything else (another exception type, a
// wrong code) is a finding. libFuzzer (tests/fuzz/fuzz_main.cpp) aborts on a finding; the unit
// tests replay committed seeds and crash inputs through the same targets without clang.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "lib/errors.h"

namespace mopt::fuzz {

/// One target: a name (also the corpus folder's name) and the function that runs one input.
struct FuzzTarget {
  const char* name;
  const char* summary;  ///< what it feeds to which library call
  /// Runs one input; returns "" when mopt handled it, else a description of the finding.
  std::string (*run)(const uint8_t* data, size_t size);
};

/// Every target, in a fixed order.
const std::vector<FuzzTarget>& all_targets();

/// The target called `name`, or nullptr.
const FuzzTarget* find_target(const std::string& name);

/// Writes the input to this process's scratch file `name` (the file-reading calls take paths,
/// as the CLI does) and returns its path. The folder is private to the process.
std::filesystem::path write_scratch_file(const std::string& name, const uint8_t* data, size_t size);

/// Runs `body`; "" when it returns or throws mopt::Error with one of `allowed` codes, else a
/// description of what escaped (the exception type and message, or the unexpected exit code).
/// With `file` set, an invalid_input message must also name that file: users must know which to fix.
std::string refusals_only(const std::function<void()>& body, std::initializer_list<ExitCode> allowed,
                          const std::filesystem::path& file = {});

}  // namespace mopt::fuzz
