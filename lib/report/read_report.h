#pragma once
// Reading a report someone else wrote (`mopt bench --baseline OLD.json`, `mopt bench compare A B`):
// the file is untrusted input, so every problem with it is invalid_input naming the file.
#include <nlohmann/json.hpp>

#include <filesystem>

namespace mopt {

/// Parses a JSON report that has a `metrics` object; unreadable, not JSON or no metrics -> invalid_input (exit 4).
nlohmann::json read_report(const std::filesystem::path& path);

}  // namespace mopt
