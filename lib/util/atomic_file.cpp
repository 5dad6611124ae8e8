#include "lib/util/atomic_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

#include "lib/errors.h"

namespace mopt {
namespace fs = std::filesystem;

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write_to) {
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(dir)) {
    throw usage_error(fmt::format("cannot write '{}': directory '{}' does not exist", target.string(),
                                  dir.string()));
  }
  // Same directory as the target so the final rename stays on one filesystem (atomic).
  fs::path temp = dir / fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid());
  try {
    write_to(temp);
    fs::rename(temp, target);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

void write_text_atomically(const fs::path& target, const std::string& contents) {
  write_atomically(target, [&](const fs::path& temp) {
    std::ofstream out(temp, std::ios::binary);
    out << contents;
    out.close();
    if (!out) throw runtime_failure(fmt::format("failed to write '{}'", temp.string()));
  });
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace mopt
