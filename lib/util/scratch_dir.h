#pragma once
// A private temporary folder for intermediate files (inputs handed to helper processes, models
// saved for a fresh-process measurement), removed with everything in it on every exit path,
// a terminating signal included (see removed_on_signal.h).
#include <filesystem>
#include <string>

#include "lib/util/removed_on_signal.h"

namespace mopt {

/// mkdtemp() under the system temp folder; the folder and its contents go when this goes.
class ScratchDir {
 public:
  /// `prefix` names the folder (e.g. "mopt-ort") so a leftover after kill -9 says who made it.
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// path() / name.
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
  RemovedOnSignal removed_on_signal_;
};

}  // namespace mopt
