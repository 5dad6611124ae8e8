#include "lib/pipeline/pass_registry.h"

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt {

void PassRegistry::add(std::unique_ptr<Pass> pass) {
  auto name = pass->info().name;
  if (!passes_.emplace(name, std::move(pass)).second) {
    throw runtime_failure(fmt::format("pass '{}' registered twice", name));
  }
}

const Pass* PassRegistry::find(const std::string& name) const {
  auto it = passes_.find(name);
  return it == passes_.end() ? nullptr : it->second.get();
}

std::vector<const Pass*> PassRegistry::all() const {
  std::vector<const Pass*> result;
  for (const auto& [name, pass] : passes_) result.push_back(pass.get());
  return result;
}

std::string PassRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& [name, pass] : passes_) names.push_back(name);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace mopt
