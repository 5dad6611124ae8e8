#include "tools/mopt/train_flags.h"

#include <filesystem>

#include "lib/errors.h"
#include "lib/runtime/cuda.h"
#include "lib/util/log.h"

namespace mopt::cli {
namespace {

std::string default_checkpoint(const std::string& output) { return output + ".ckpt"; }

}  // namespace

void add_train_flags(CLI::App& command, TrainFlags& flags) {
  auto& c = flags.config;
  auto* group = command.add_option_group("Training");
  group->add_option("--epochs", c.epochs, "passes over the training data (default 5)")->check(CLI::PositiveNumber);
  group->add_option("--batch-size", c.batch_size, "samples per step (default 64)")->check(CLI::PositiveNumber);
  group->add_option("--optimizer", c.optimizer.name, "adam (default), adamw or sgd")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  group->add_option("--lr", c.optimizer.lr, "learning rate; the peak rate for one-cycle (default 0.001)");
  group->add_option("--momentum", c.optimizer.momentum, "SGD momentum (default 0.9)");
  group->add_option("--weight-decay", c.optimizer.weight_decay, "weight decay (decoupled for adamw; default 0)");
  group->add_option("--lr-schedule", c.schedule.kind, "learning-rate schedule: constant (default), cosine, step, one-cycle")
      ->check(CLI::IsMember({"constant", "cosine", "step", "one-cycle"}));
  group->add_option("--step-epochs", c.schedule.step_epochs, "step schedule: decay every N epochs (default 1)");
  group->add_option("--gamma", c.schedule.gamma, "step schedule: decay factor (default 0.1)");
  group->add_option("--clip-grad-norm", c.clip_grad_norm, "clip the global gradient L2 norm to this (default off)");
  group->add_option("--seed", c.seed, "seed for shuffling, dropout and new layers (default 0)");
  group->add_option("--patience", c.patience, "stop after N epochs without a better validation accuracy (default off)");
  group->add_option("--checkpoint", flags.checkpoint,
                    "checkpoint written after every epoch and on Ctrl-C (default OUTPUT.ckpt, deleted on success)")
      ->type_name("FILE");
  group->add_option("--resume", flags.resume, "continue an interrupted run from its checkpoint, exactly")->type_name("FILE");
  group->add_option("--device", flags.device, "train on cpu (default) or cuda[:N]; the trained model is saved for the CPU")
      ->type_name("cpu|cuda[:N]");
  group->add_option("--amp", flags.amp,
                    "mixed precision: fp16 (with loss scaling) or bf16 autocast, each measured against fp32 first; "
                    "auto trains in the fastest of the three (default on cuda); off = fp32 (default on cpu)")
      ->type_name("off|fp16|bf16|auto");
  // For tests of interruption: behaves as if Ctrl-C arrived after N optimizer steps.
  command.add_option("--stop-after-steps", c.stop_after_steps)->group("");
  add_data_parallel_flags(command, flags);
}

void add_data_parallel_flags(CLI::App& command, TrainFlags& flags) {
  auto& d = flags.data_parallel;
  auto* group = command.add_option_group("Data-parallel training (c10d Gloo; one process per rank)");
  group->add_option("--world-size", d.world_size, "number of ranks (default: $WORLD_SIZE, else 1 = one process)");
  group->add_option("--rank", d.rank, "this process's rank, 0..world-size-1 (default: $RANK)");
  group->add_option("--master-addr", d.master_addr, "address of rank 0, which hosts the rendezvous (default: $MASTER_ADDR, else 127.0.0.1)")
      ->type_name("HOST");
  group->add_option("--master-port", d.master_port, "TCP port of the rendezvous on rank 0 (default: $MASTER_PORT, else 29500)")
      ->type_name("PORT");
  group->add_option("--dist-timeout", flags.dist_timeout_s,
                    "seconds a rank waits for the others (joining, and each step) before giving up (default 300)")
      ->type_name("S");
}

void prepare_rank(TrainFlags& flags, CommonArgs& common) {
  flags.data_parallel.timeout = std::chrono::seconds(flags.dist_timeout_s);
  flags.data_parallel = train::resolve_data_parallel(flags.data_parallel);
  if (flags.data_parallel.rank > 0) {
    common.quiet = true;
    common.report_path.clear();
  }
}

train::TrainConfig train_config(const TrainFlags& flags, const std::string& output) {
  auto config = flags.config;
  config.checkpoint_path = flags.checkpoint.empty() ? default_checkpoint(output) : flags.checkpoint;
  config.resume_path = flags.resume;
  config.device = resolve_device(flags.device);
  config.amp = flags.amp.empty() ? (config.device.is_cuda() ? train::AmpRequest::kAuto : train::AmpRequest::kOff)
                                 : train::parse_amp(flags.amp);
  const auto& spec = flags.data_parallel;
  if (spec.enabled() && config.device.is_cuda()) {
    throw usage_error("data-parallel training runs on CPUs (c10d Gloo): drop --device cuda or --world-size");
  }
  if (spec.enabled()) {
    if (config.batch_size < spec.world_size) {
      throw usage_error(fmt::format("--batch-size {} is the global batch: it must be at least the world size {}",
                                    config.batch_size, spec.world_size));
    }
    log_info("rank {} of {}: joining the others at {}:{} ...", spec.rank, spec.world_size, spec.master_addr, spec.master_port);
    config.data_parallel = train::DataParallel::connect(spec);
    log_info("all {} ranks joined; global batch {} = about {} samples per rank per step", spec.world_size,
             config.batch_size, config.batch_size / spec.world_size);
  }
  if (config.is_main_rank() && flags.resume.empty() && std::filesystem::exists(config.checkpoint_path)) {
    log_info("note: {} exists (from an interrupted run?); it will be overwritten; pass --resume {} to continue that run",
             config.checkpoint_path.string(), config.checkpoint_path.string());
  }
  return config;
}

void remove_default_checkpoints(const TrainFlags& flags, const std::string& output) {
  if (!flags.checkpoint.empty() || flags.data_parallel.rank > 0) return;
  std::error_code ignored;
  std::filesystem::remove(default_checkpoint(output), ignored);
  std::filesystem::remove(default_checkpoint(output) + ".baseline", ignored);
}

}  // namespace mopt::cli
