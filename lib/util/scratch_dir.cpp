#include "lib/util/scratch_dir.h"

#include <cstdlib>

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt {
namespace fs = std::filesystem;

namespace {

fs::path make_temp_folder(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw runtime_failure(fmt::format("cannot create a temporary folder in {}", fs::temp_directory_path().string()));
  return pattern;
}

}  // namespace

ScratchDir::ScratchDir(const std::string& prefix) : path_(make_temp_folder(prefix)), removed_on_signal_(path_) {}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace mopt
