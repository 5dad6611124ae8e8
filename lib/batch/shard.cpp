#include "lib/batch/shard.h"

#include <fmt/format.h>

#include <cstdlib>

#include "lib/errors.h"

namespace mopt::batch {
namespace {

std::optional<long> parse_int(const char* text) {
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0') return std::nullopt;
  return value;
}

Shard checked(long index, long count, const std::string& source) {
  if (count < 1 || index < 0 || index >= count) {
    throw usage_error(fmt::format("{}: shard index must be in [0, count) and count >= 1, not {}/{}", source, index, count));
  }
  return {static_cast<int>(index), static_cast<int>(count)};
}

}  // namespace

Shard parse_shard(const std::string& text) {
  auto slash = text.find('/');
  auto index = slash == std::string::npos ? std::nullopt : parse_int(text.substr(0, slash).c_str());
  auto count = slash == std::string::npos ? std::nullopt : parse_int(text.substr(slash + 1).c_str());
  if (!index || !count) throw usage_error(fmt::format("--shard wants I/N (e.g. 0/4), not '{}'", text));
  return checked(*index, *count, "--shard " + text);
}

std::optional<Shard> shard_from_environment(int count, const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&](const char* name) { return getenv_fn ? getenv_fn(name) : std::getenv(name); };
  if (auto id = parse_int(get("SLURM_ARRAY_TASK_ID"))) {
    auto total = parse_int(get("SLURM_ARRAY_TASK_COUNT"));
    if (!total && count < 1) throw usage_error("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard-count N");
    long first = parse_int(get("SLURM_ARRAY_TASK_MIN")).value_or(0);  // --array=1-8 numbers tasks from 1
    return checked(*id - first, count > 0 ? count : *total, "SLURM_ARRAY_TASK_ID");
  }
  if (auto index = parse_int(get("JOB_COMPLETION_INDEX"))) {
    long total = count > 0 ? count : parse_int(get("MOPT_SHARD_COUNT")).value_or(0);
    if (total < 1) {
      throw usage_error("JOB_COMPLETION_INDEX is set but the shard count is not: pass --shard-count N (the Job's completions) "
                        "or set MOPT_SHARD_COUNT");
    }
    return checked(*index, total, "JOB_COMPLETION_INDEX");
  }
  if (count > 0) throw usage_error("--shard-count needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment");
  return std::nullopt;
}

}  // namespace mopt::batch
