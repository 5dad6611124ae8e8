#include "lib/train/data_parallel.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <thread>

#include "lib/errors.h"

namespace mopt::train {
namespace {

// Gradients are summed in buckets of at most this many bytes (DDP's default bucket size):
// big enough to amortise a collective's latency, small enough to bound the extra copy.
constexpr int64_t kBucketBytes = 25 * 1024 * 1024;

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* value = env(name);
  if (!value) return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value, &end, 10);
  if (*end != '\0' || parsed < 0 || parsed > std::numeric_limits<int>::max()) {
    throw usage_error(fmt::format("environment variable {}='{}' is not a non-negative integer", name, value));
  }
  return static_cast<int>(parsed);
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

// Waits for a collective; any failure means the group is broken. It spins a few milliseconds
// before blocking: on this VM a blocked thread's wake-up was a large part of a step's collective
// (2 ranks: 7,122 samples/s blocking at once, 7,941 spinning first; 1 process: 5,128), and a long
// wait (a peer validating) still blocks instead of burning a core.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const char* what, int rank) {
  constexpr auto kSpin = std::chrono::milliseconds(5);
  try {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    // Yield while spinning: on a host with as many busy ranks as cores, a pure spin held the core
    // that this rank's Gloo threads needed to finish the collective (2 ranks on 2 cores: 7.3-7.8k
    // samples/s spinning, 7.9-8.3k blocking at once, 8.6-8.8k yielding; docs/benchmarks.md, data-parallel training).
    while (!work->isCompleted() && std::chrono::steady_clock::now() < spin_until) std::this_thread::yield();
    work->wait();
  } catch (const std::exception& e) {
    throw LostRankError(fmt::format("rank {} lost contact with the other ranks during {} ({}): a rank exited, hung past "
                                    "the timeout or the network failed",
                                    rank, what, short_torch_message(e.what())));
  }
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

DataParallelSpec resolve_data_parallel(DataParallelSpec spec) {
  if (spec.world_size < 0) spec.world_size = env_int("WORLD_SIZE", env_int("SLURM_NTASKS", 1));
  if (spec.rank < 0) spec.rank = env_int("RANK", env_int("SLURM_PROCID", 0));
  if (spec.master_addr.empty()) spec.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
  if (spec.master_port == 0) spec.master_port = env_int("MASTER_PORT", 29500);
  if (spec.world_size < 1) throw usage_error("--world-size must be at least 1");
  if (spec.rank >= spec.world_size) {
    throw usage_error(fmt::format("rank {} is outside a world of {} (ranks 0..{})", spec.rank, spec.world_size,
                                  spec.world_size - 1));
  }
  if (spec.master_port < 1 || spec.master_port > 65535) {
    throw usage_error(fmt::format("--master-port {} is not a TCP port", spec.master_port));
  }
  if (spec.timeout.count() < 1) throw usage_error("--dist-timeout must be at least 1 second");
  return spec;
}

std::shared_ptr<DataParallel> DataParallel::connect(const DataParallelSpec& spec) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(spec.master_port);
  options.isServer = spec.rank == 0;
  options.numWorkers = static_cast<size_t>(spec.world_size);
  options.waitWorkers = true;
  options.timeout = spec.timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(spec.master_addr, options);
  } catch (const std::exception& e) {
    throw Error(ExitCode::kRuntimeFailure,
                fmt::format("rank {} of {}: cannot {} the rendezvous at {}:{} within {}s ({}); {}", spec.rank,
                            spec.world_size, spec.rank == 0 ? "host" : "reach", spec.master_addr, spec.master_port,
                            spec.timeout.count(), short_torch_message(e.what()),
                            spec.rank == 0 ? "is the port in use? pick another with --master-port"
                                           : "are all ranks started, with the same --master-addr/--master-port?"));
  }
  std::string hostname = is_loopback(spec.master_addr) ? "127.0.0.1" : "";
  try {
    return std::make_shared<DataParallel>(store, spec.rank, spec.world_size, spec.timeout, hostname);
  } catch (const std::exception& e) {
    throw Error(ExitCode::kRuntimeFailure, fmt::format("rank {} of {}: the ranks did not all connect within {}s ({})",
                                                       spec.rank, spec.world_size, spec.timeout.count(),
                                                       short_torch_message(e.what())));
  }
}

DataParallel::DataParallel(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size,
                           std::chrono::milliseconds timeout, const std::string& hostname)
    : group_(std::make_unique<Group>()), rank_(rank), world_size_(world_size) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; otherwise the address the
  // master is reached on (loopback) or the one this host's name resolves to.
  if (const char* interface = env("GLOO_SOCKET_IFNAME")) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  } else if (!hostname.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 1;  // collectives run one at a time; the cores are the training's
  group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
}

DataParallel::~DataParallel() = default;

std::pair<int64_t, int64_t> DataParallel::shard(int64_t rows) const {
  return {rows * rank_ / world_size_, rows * (rank_ + 1) / world_size_};
}

std::vector<double> DataParallel::sum_gradients(const std::vector<torch::Tensor>& parameters, double weight,
                                                const std::vector<double>& scalars) {
  torch::NoGradGuard no_grad;
  // Buckets of same-dtype gradients, flattened, scaled, summed, and copied back.
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bucket_bytes = kBucketBytes;
  for (const auto& p : parameters) {
    auto& grad = p.mutable_grad();
    if (!grad.defined()) grad = torch::zeros_like(p);
    const int64_t bytes = grad.numel() * static_cast<int64_t>(grad.element_size());
    if (buckets.empty() || bucket_bytes + bytes > kBucketBytes || buckets.back().front().scalar_type() != grad.scalar_type()) {
      buckets.emplace_back();
      bucket_bytes = 0;
    }
    buckets.back().push_back(grad);
    bucket_bytes += bytes;
  }
  // The scalars ride at the end of the last bucket, in its dtype: on this VM a collective costs
  // about a millisecond of latency whatever its size, so one fewer per step is worth it.
  std::vector<std::vector<torch::Tensor>> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (size_t b = 0; b < buckets.size(); ++b) {
    std::vector<torch::Tensor> pieces;
    int64_t gradient_elements = 0;
    for (const auto& g : buckets[b]) {
      pieces.push_back(g.reshape({-1}));
      gradient_elements += g.numel();
    }
    if (b + 1 == buckets.size()) pieces.push_back(torch::tensor(scalars, torch::kDouble).to(pieces.front().scalar_type()));
    flats.push_back({torch::cat(pieces, 0)});
    flats.back().front().slice(0, 0, gradient_elements).mul_(weight);
    works.push_back(group_->gloo->allreduce(flats.back()));
  }
  for (const auto& work : works) wait_for(work, "a training step's gradient sum", rank_);
  for (size_t b = 0; b < buckets.size(); ++b) {
    int64_t offset = 0;
    for (auto& grad : buckets[b]) {
      grad.copy_(flats[b].front().slice(0, offset, offset + grad.numel()).view_as(grad));
      offset += grad.numel();
    }
  }
  const auto sums = flats.back().front().slice(0, -static_cast<int64_t>(scalars.size())).to(torch::kDouble).contiguous();
  return std::vector<double>(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
}

void DataParallel::broadcast_from_main(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one = {t.is_contiguous() ? t : t.contiguous()};
    wait_for(group_->gloo->broadcast(one), "a broadcast of rank 0's weights", rank_);
    if (!t.is_contiguous()) t.copy_(one.front());
  }
}

std::vector<double> DataParallel::main_values(const std::vector<double>& values) {
  std::vector<torch::Tensor> one = {torch::tensor(values, torch::kDouble)};
  wait_for(group_->gloo->broadcast(one), "a broadcast of rank 0's validation", rank_);
  const auto& t = one.front();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

torch::Tensor DataParallel::gather_rows(const torch::Tensor& mine, int64_t total_rows) {
  // allgather needs equal sizes: every rank sends the largest shard's row count, padded.
  const int64_t most = (total_rows + world_size_ - 1) / world_size_;
  auto sizes = mine.sizes().vec();
  sizes[0] = most;
  auto padded = torch::zeros(sizes, mine.options());
  padded.slice(0, 0, mine.size(0)).copy_(mine);
  std::vector<torch::Tensor> input = {padded};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < world_size_; ++r) output[0].push_back(torch::empty_like(padded));
  wait_for(group_->gloo->allgather(output, input), "a gather of every rank's rows", rank_);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world_size_; ++r) {
    const int64_t begin = total_rows * r / world_size_, end = total_rows * (r + 1) / world_size_;
    parts.push_back(output[0][static_cast<size_t>(r)].slice(0, 0, end - begin));
  }
  return torch::cat(parts, 0);
}

}  // namespace mopt::train
