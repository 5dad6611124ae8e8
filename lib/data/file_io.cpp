#include "lib/data/file_io.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <system_error>

#include "lib/errors.h"

namespace mopt::data_detail {

void require_regular_file(const std::filesystem::path& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw invalid_input(fmt::format("{}: file not found", path.string()));
  if (std::filesystem::is_directory(status))
    throw invalid_input(fmt::format("{}: is a directory, expected a tensor file", path.string()));
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw invalid_input(fmt::format("{}: cannot open for reading", path.string()));
}

std::string read_file_bytes(const std::filesystem::path& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw invalid_input(fmt::format("{}: read error", path.string()));
  return bytes;
}

std::string read_file_prefix(const std::filesystem::path& path, size_t max_bytes) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes(max_bytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

}  // namespace mopt::data_detail
