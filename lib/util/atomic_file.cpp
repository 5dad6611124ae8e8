#include "lib/util/atomic_file.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fstream>

#include "lib/errors.h"
#include "lib/util/removed_on_signal.h"

namespace mopt {
namespace fs = std::filesystem;

namespace {

// Temp files of earlier writes of `target` whose process is gone (a SIGKILL, a node loss): nothing
// will rename them any more. Those of live processes (another mopt writing now) are left alone.
void remove_stale_temps(const fs::path& dir, const fs::path& target) {
  const std::string prefix = fmt::format(".{}.tmp-", target.filename().string());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const auto digits = name.substr(prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write_to) {
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(dir)) {
    throw usage_error(fmt::format("cannot write '{}': directory '{}' does not exist", target.string(),
                                  dir.string()));
  }
  remove_stale_temps(dir, target);
  // Same directory as the target so the final rename stays on one filesystem (atomic).
  fs::path temp = dir / fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid());
  RemovedOnSignal removed_on_signal(temp);
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
