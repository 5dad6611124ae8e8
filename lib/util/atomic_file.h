#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace mopt {

/// Writes `target` through `write_to(temp_path)` and renames the temp file into place, so a
/// failed or interrupted write never leaves a partial file at `target`. The temp file is
/// `.NAME.tmp-PID` beside it; one left by a killed earlier write (its PID gone) is removed first.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write_to);

/// Atomically writes `contents` to `target`.
void write_text_atomically(const std::filesystem::path& target, const std::string& contents);

/// True when both paths name the same file (existing) or the same normalized path.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace mopt
