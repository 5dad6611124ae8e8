#pragma once
// Sharding for the schedulers people already have (Slurm job arrays, Kubernetes Indexed Jobs):
// shard I of N runs the jobs whose manifest position p has p % N == I. Round-robin over the
// manifest order keeps shards within one job of each other and is the same on every node.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace mopt::batch {

/// Shard `index` of `count` (0-based).
struct Shard {
  int index = 0;
  int count = 1;
  bool operator==(const Shard& other) const { return index == other.index && count == other.count; }
};

/// "I/N" with 0 <= I < N -> Shard; anything else -> usage_error.
Shard parse_shard(const std::string& text);

/// The shard the environment names, or nullopt when none is set:
/// SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (IDs counted from SLURM_ARRAY_TASK_MIN when set), else
/// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) with `count` (--shard-count, or MOPT_SHARD_COUNT).
/// An index without a count, or one out of range -> usage_error.
std::optional<Shard> shard_from_environment(int count = 0,
                                            const std::function<const char*(const char*)>& getenv_fn = nullptr);

/// Whether the job at manifest position `position` belongs to `shard`.
inline bool in_shard(size_t position, const Shard& shard) {
  return static_cast<int>(position % static_cast<size_t>(shard.count)) == shard.index;
}

}  // namespace mopt::batch
