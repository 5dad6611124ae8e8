#pragma once
// `mopt batch`: load the manifest, pick this shard's jobs, run them (or skip those done), and
// write the batch report, JUnit XML and Markdown summary. `mopt batch merge` combines shards.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lib/batch/shard.h"

namespace mopt::batch {

/// What `mopt batch` was asked to do.
struct BatchOptions {
  std::filesystem::path manifest;
  std::filesystem::path out_dir;  ///< default: MANIFEST_DIR/MANIFEST_STEM.batch
  int workers = 1;                ///< --jobs
  int threads = 0;                ///< threads per job; 0 = max(1, cores / workers)
  bool force = false;
  std::optional<Shard> shard;
  std::string only;               ///< glob over job ids; empty = all
  std::filesystem::path report, junit, markdown;  ///< default: in out_dir, named after the shard
  std::vector<std::string> argv;  ///< recorded in the batch report
};

/// The batch section of the report, its exit code and where the outputs were written.
struct BatchOutcome {
  int exit_code = 0;
  nlohmann::json batch;  ///< the report's details.batch section (jobs = rows)
  std::filesystem::path report, junit, markdown;
};

/// Runs a batch; per-job lines and (on a terminal) a live done/total line go to stderr.
BatchOutcome run_batch(const BatchOptions& options);

/// Merges shard batch reports into one report/JUnit/Markdown (each written when its path is set).
BatchOutcome merge_batches(const std::vector<std::filesystem::path>& reports, const std::filesystem::path& report,
                           const std::filesystem::path& junit, const std::filesystem::path& markdown,
                           const std::vector<std::string>& argv);

/// Threads per job when not set: the host's cores split among the workers, at least 1.
int default_threads_per_job(int cores, int workers);

}  // namespace mopt::batch
