#pragma once
// File access shared by the readers, so every reader reports a missing file the same way.
#include <filesystem>
#include <string>

namespace mopt::data_detail {

/// Throws invalid_input unless path names a readable regular file.
void require_regular_file(const std::filesystem::path& path);

/// Whole file as bytes (after require_regular_file).
std::string read_file_bytes(const std::filesystem::path& path);

/// Up to max_bytes from the start of the file.
std::string read_file_prefix(const std::filesystem::path& path, size_t max_bytes);

/// Up to max_bytes from the start of the file after gunzip (raw files pass through unchanged).
std::string read_decompressed_prefix(const std::filesystem::path& path, size_t max_bytes);

/// True when bytes start with an IDX magic number (0, 0, known type code, 1..8 dims).
bool is_idx_magic(const std::string& bytes);

}  // namespace mopt::data_detail
