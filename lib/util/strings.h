#pragma once
// Small string helpers shared across the library: the one trim, starts_with, ends_with and glob match.
#include <string>
#include <vector>

namespace mopt {

/// Whether `text` starts with `prefix`.
inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

/// Whether `text` ends with `suffix`.
inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The parts of `text` between `separator`s, empty ones included ("a,,b" -> a, "", b).
std::vector<std::string> split(const std::string& text, char separator);

/// `text` without leading and trailing spaces, tabs and line ends.
std::string trim(const std::string& text);

/// Whether `text` matches the shell glob `pattern` (fnmatch without FNM_PATHNAME: `*` also crosses
/// dots and slashes, so "layer1.*" covers "layer1.0.conv1"). Layer, node and job selection use it.
bool glob_matches(const std::string& pattern, const std::string& text);

/// Whether any of `patterns` matches `text`.
bool matches_any_glob(const std::vector<std::string>& patterns, const std::string& text);

}  // namespace mopt
