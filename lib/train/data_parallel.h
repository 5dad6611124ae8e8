#pragma once
// Data-parallel training over LibTorch's own c10d::ProcessGroupGloo: every rank holds the whole
// model, trains on its share of each global batch, and the ranks sum their weighted gradients
// every step, so W ranks take the same steps as one process at the same total batch size.
// Rank 0 hosts the rendezvous store, validates, and writes checkpoints and artifacts.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace c10d {
class Store;
}

namespace mopt::train {

struct DataParallelSpec {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::seconds timeout{300};  ///< how long a rank waits for the others (rendezvous, each collective)
  bool enabled() const { return world_size > 1; }
};

/// Fills in what the flags left unset (rank or world size < 0, empty address, port 0) from the
/// launcher's environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun, and scripts
/// for Slurm/Kubernetes), else SLURM_PROCID and SLURM_NTASKS. usage_error on nonsense.
DataParallelSpec resolve_data_parallel(DataParallelSpec flags);

/// Thrown when a collective fails: another rank died, hung past the timeout, or the network broke.
class LostRankError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DataParallel {
 public:
  /// Joins the other ranks (blocks until all have joined, or throws after the timeout).
  static std::shared_ptr<DataParallel> connect(const DataParallelSpec& spec);
  /// Ranks of one process sharing `store` (tests).
  DataParallel(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size, std::chrono::milliseconds timeout,
               const std::string& hostname = "127.0.0.1");
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }

  /// This rank's rows [begin, end) of a global batch of `rows` (contiguous, sizes differ by at most one).
  std::pair<int64_t, int64_t> shard(int64_t rows) const;

  /// The step's collective: each rank's gradients scaled by `weight` (its share of the global
  /// batch) are summed across ranks in place, in buckets; `scalars` (loss sums, a stop flag) are
  /// summed too, in the gradients' precision, and returned. Parameters without a gradient get one
  /// (zeros before the sum).
  std::vector<double> sum_gradients(const std::vector<torch::Tensor>& parameters, double weight,
                                    const std::vector<double>& scalars);

  /// Overwrites every rank's tensors with rank 0's, in place.
  void broadcast_from_main(const std::vector<torch::Tensor>& tensors);

  /// Rank 0's values, on every rank.
  std::vector<double> main_values(const std::vector<double>& values);

  /// Every rank's rows concatenated in rank order, on every rank: `mine` holds shard(total_rows)
  /// of a tensor of `total_rows` rows.
  torch::Tensor gather_rows(const torch::Tensor& mine, int64_t total_rows);

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int rank_;
  int world_size_;
};

}  // namespace mopt::train
