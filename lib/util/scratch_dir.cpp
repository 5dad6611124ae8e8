#include "lib/util/scratch_dir.h"

#include <cstdlib>

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt {
namespace fs = std::filesystem;

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw runtime_failure(fmt::format("cannot create a temporary folder in {}", fs::temp_directory_path().string()));
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace mopt
