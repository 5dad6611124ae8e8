#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/pipeline/pass.h"

namespace mopt {

/// Holds passes by name. Filled by an explicit register_all_passes() list (passes/), never by
/// static initializers, which static libraries silently drop.
class PassRegistry {
 public:
  void add(std::unique_ptr<Pass> pass);
  /// nullptr when no pass has that name.
  const Pass* find(const std::string& name) const;
  /// Every pass, sorted by name.
  std::vector<const Pass*> all() const;
  /// "a, b, c": for error messages.
  std::string names() const;

 private:
  std::map<std::string, std::unique_ptr<Pass>> passes_;
};

}  // namespace mopt
