#include "lib/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>

#include "lib/errors.h"
#include "lib/model/model.h"
#include "lib/train/checkpoint.h"
#include "lib/train/interrupt.h"
#include "lib/train/losses.h"
#include "lib/util/log.h"
#include "lib/util/progress_line.h"

namespace mopt::train {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The shuffled row order of one epoch: a pure function of (seed, epoch), so resuming mid-epoch
// replays exactly the same batches.
torch::Tensor epoch_order(int64_t rows, uint64_t seed, int64_t epoch) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  return torch::randperm(rows, generator, torch::kLong);
}

json epoch_to_json(const EpochRecord& r) {
  json j = {{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"learning_rate", r.learning_rate},
            {"seconds", r.seconds}, {"samples_per_s", r.samples_per_s}};
  if (r.val_accuracy >= 0) {
    j["val_accuracy"] = r.val_accuracy;
    j["val_loss"] = r.val_loss;
  }
  return j;
}

EpochRecord epoch_from_json(const json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.train_loss = j.at("train_loss").get<std::map<std::string, double>>();
  r.learning_rate = j.at("learning_rate");
  r.seconds = j.at("seconds");
  r.samples_per_s = j.at("samples_per_s");
  r.val_accuracy = j.value("val_accuracy", -1.0);
  r.val_loss = j.value("val_loss", -1.0);
  return r;
}

// Where the loop is; saved in checkpoints so a resumed run continues exactly.
struct LoopState {
  int64_t epoch = 0;       // 0-based epoch in progress
  int64_t next_batch = 0;  // batches of `epoch` already done
  int64_t step = 0;        // optimizer steps since the start of the run
  std::map<std::string, double> loss_sums;  // sum over the epoch's rows of each loss term
  int64_t rows_done = 0;                    // rows of the epoch so far
  double epoch_seconds = 0;                 // training time of the epoch so far
  double best_val_accuracy = -1;
  int64_t best_epoch = 0;
  int64_t stale_epochs = 0;
  std::vector<EpochRecord> history;
  double total_seconds = 0;  // training time (steps only) over the whole run, resumes included
  int64_t total_rows = 0;
  Precision precision = Precision::kFloat32;  // --amp auto resolves once; a resumed run keeps its choice
  json grad_scaler;                           // GradScaler::state() (fp16)

  json to_json(const json& fingerprint, size_t extras) const {
    json history_json = json::array();
    for (const auto& r : history) history_json.push_back(epoch_to_json(r));
    return {{"fingerprint", fingerprint}, {"epoch", epoch}, {"next_batch", next_batch}, {"step", step},
            {"loss_sums", loss_sums}, {"rows_done", rows_done}, {"epoch_seconds", epoch_seconds},
            {"best_val_accuracy", best_val_accuracy}, {"best_epoch", best_epoch}, {"stale_epochs", stale_epochs},
            {"history", history_json}, {"extra_parameters", extras}, {"total_seconds", total_seconds},
            {"total_rows", total_rows}, {"precision", precision_name(precision)}, {"grad_scaler", grad_scaler}};
  }

  static LoopState from_json(const json& j) {
    LoopState s;
    s.epoch = j.at("epoch");
    s.next_batch = j.at("next_batch");
    s.step = j.at("step");
    s.loss_sums = j.at("loss_sums").get<std::map<std::string, double>>();
    s.rows_done = j.at("rows_done");
    s.epoch_seconds = j.at("epoch_seconds");
    s.best_val_accuracy = j.at("best_val_accuracy");
    s.best_epoch = j.at("best_epoch");
    s.stale_epochs = j.at("stale_epochs");
    for (const auto& r : j.at("history")) s.history.push_back(epoch_from_json(r));
    s.total_seconds = j.at("total_seconds");
    s.total_rows = j.at("total_rows");
    const auto precision = j.value("precision", std::string("fp32"));
    s.precision = precision_named(precision);
    s.grad_scaler = j.value("grad_scaler", json());
    return s;
  }
};

// What must be equal for a checkpoint to continue this run exactly.
json run_fingerprint(const TrainConfig& config, const Dataset& train, size_t extras) {
  const auto& o = config.optimizer;
  const auto& sch = config.schedule;
  return {{"label", config.label},
          {"epochs", config.epochs},
          {"batch_size", config.batch_size},
          {"seed", config.seed},
          {"optimizer", {o.name, o.lr, o.momentum, o.weight_decay}},
          {"schedule", {sch.kind, sch.step_epochs, sch.gamma, sch.warmup_fraction}},
          {"clip_grad_norm", config.clip_grad_norm},
          {"patience", config.patience},
          {"train_rows", train.size()},
          {"world_size", config.data_parallel ? config.data_parallel->world_size() : 1},
          {"extra_parameters", extras},
          {"amp", amp_request_name(config.amp)},
          {"device", c10::DeviceTypeName(config.device.type(), /*lower_case=*/true)},
          {"caller", config.fingerprint}};
}

Error interrupted_error(const TrainConfig& config) {
  if (config.checkpoint_path.empty()) return Error(ExitCode::kInterrupted, "interrupted; no checkpoint path was set, nothing saved");
  const auto resume = config.resume_hint.empty() ? config.checkpoint_path : config.resume_hint;
  return Error(ExitCode::kInterrupted, fmt::format("interrupted; checkpoint saved to {} (continue with --resume {})",
                                                   config.checkpoint_path.string(), resume.string()));
}

std::vector<torch::Tensor> model_buffers(const torch::jit::Module& model) {
  std::vector<torch::Tensor> tensors;
  for (const auto& b : model.buffers(/*recurse=*/true)) tensors.push_back(b);
  return tensors;
}

// All of a model's parameters and buffers, and the extra trained tensors: what a rank must share.
std::vector<torch::Tensor> model_state(const torch::jit::Module& model, const std::vector<torch::Tensor>& extras) {
  std::vector<torch::Tensor> tensors = extras;
  for (const auto& p : model.parameters(/*recurse=*/true)) tensors.push_back(p);
  for (auto& b : model_buffers(model)) tensors.push_back(std::move(b));
  return tensors;
}

// Every rank must run the same training from the same weights: the settings are compared with
// rank 0's, and rank 0's weights (after a resume, the checkpoint's) are copied everywhere.
void join_ranks(torch::jit::Module& model, const std::vector<torch::Tensor>& extras, const json& fingerprint,
                DataParallel& dp) {
  const auto mine = static_cast<double>(std::hash<std::string>{}(fingerprint.dump()) % (1ULL << 52));
  if (dp.main_values({mine}).front() != mine) {
    throw usage_error(fmt::format("rank {}'s training settings or data differ from rank 0's: every rank needs the same "
                                  "command line and data",
                                  dp.rank()));
  }
  dp.broadcast_from_main(model_state(model, extras));
}

// The batch's inputs and labels: the training rows its indices name.
void fill_rows(Batch& batch, const Dataset& train) {
  auto rows = train.rows(batch.indices);
  batch.inputs = rows.input_list();
  batch.labels = rows.labels;
}

// Every step repeats the same shapes: on a GPU, cuDNN's autotuner picks each convolution's fastest algorithm once.
void use_cudnn_autotuner(c10::Device device) {
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

// The objective under autocast, and backward from its first term (scaled for fp16).
LossTerms forward_backward(torch::jit::Module& model, const Batch& batch, const Objective& objective, Precision precision,
                           const GradScaler& scaler) {
  LossTerms terms;
  {
    AutocastScope autocast(module_device(model).type(), precision);
    terms = objective(model, batch);
  }
  scaler.scale(terms.front().second).backward();
  return terms;
}

// Clips and steps, unless fp16 gradients overflowed: then the step is skipped and the loss scale shrinks.
void apply_gradients(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                     GradScaler& scaler, double clip_grad_norm) {
  const bool overflowed = scaler.unscale(parameters);
  if (!overflowed) {
    if (clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(parameters, clip_grad_norm);
    optimizer.step();
  }
  scaler.update(overflowed);
}

std::vector<torch::Tensor> trainable_parameters(const torch::jit::Module& model) {
  std::vector<torch::Tensor> parameters;
  for (const auto& p : model.parameters(/*recurse=*/true)) {
    if (!p.requires_grad()) continue;  // frozen by the user: stays as it is
    if (!p.is_leaf()) throw runtime_failure("a parameter has autograd history; copy models with clone_module()");
    parameters.push_back(p);
  }
  return parameters;
}

std::string loss_summary(const std::map<std::string, double>& sums, int64_t rows) {
  std::string text;
  for (const auto& [name, sum] : sums) text += fmt::format("{}{} {:.4f}", text.empty() ? "" : ", ", name, sum / std::max<int64_t>(rows, 1));
  return text;
}

}  // namespace

json TrainResult::to_json() const {
  json curve = json::array();
  for (const auto& r : history) curve.push_back(epoch_to_json(r));
  json j = {{"epochs", curve}, {"steps", steps}, {"train_seconds", train_seconds}, {"samples_per_s", samples_per_s},
            {"early_stopped", early_stopped}, {"resumed", resumed}, {"world_size", world_size},
            {"precision", precision_name(precision)}};
  if (!loss_scaling.is_null()) j["loss_scaling"] = loss_scaling;
  if (best_val_accuracy >= 0) {
    j["best_epoch"] = best_epoch;
    j["best_val_accuracy"] = best_val_accuracy;
  }
  return j;
}

void validate_config(const TrainConfig& config) {
  if (config.epochs < 1) throw usage_error("--epochs must be >= 1");
  if (config.batch_size < 1) throw usage_error("--batch-size must be >= 1");
  if (config.clip_grad_norm < 0) throw usage_error("--clip-grad-norm must be >= 0");
  if (config.patience < 0) throw usage_error("--patience must be >= 0");
  if (!(config.optimizer.lr > 0)) throw usage_error(fmt::format("--lr must be > 0 (got {})", config.optimizer.lr));
  if (config.optimizer.weight_decay < 0) throw usage_error("--weight-decay must be >= 0");
  if (config.optimizer.momentum < 0) throw usage_error("--momentum must be >= 0");
  validate_schedule(config.schedule);
}

c10::Device module_device(const torch::jit::Module& model) {
  for (const auto& p : model.parameters(/*recurse=*/true)) return p.device();
  for (const auto& b : model.buffers(/*recurse=*/true)) return b.device();
  if (const auto method = model.find_method("forward")) {  // frozen: the weights are constants of the graph
    for (const auto* node : method->graph()->nodes()) {
      if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
      return torch::jit::toIValue(node->output())->toTensor().device();
    }
  }
  return c10::kCPU;
}

torch::Tensor forward_tensor(torch::jit::Module& model, const std::vector<torch::Tensor>& inputs) {
  const auto device = module_device(model);
  std::vector<c10::IValue> arguments;
  for (const auto& input : inputs) arguments.emplace_back(input.to(device, /*non_blocking=*/true));
  auto output = model.forward(arguments);
  auto tensors = output_tensors(output);
  if (tensors.empty()) throw invalid_input("the model's forward() must return a tensor of logits (or a tuple, list or dict starting with one)");
  return tensors.front();
}

EvalModeGuard::EvalModeGuard(torch::jit::Module model) : model_(std::move(model)), was_training_(model_.is_training()) {
  model_.eval();
}

EvalModeGuard::~EvalModeGuard() { model_.train(was_training_); }

std::pair<double, double> evaluate_classifier(torch::jit::Module& model, const Dataset& data, int64_t batch_size) {
  EvalModeGuard eval_mode(model);
  torch::NoGradGuard no_grad;
  int64_t correct = 0;
  double loss_sum = 0;
  for (int64_t b = 0; b < batch_count(data.size(), batch_size); ++b) {
    auto logits = forward_tensor(model, batch_inputs_at(data, b, batch_size));
    auto labels = batch_slice(data.labels, b, batch_size);
    labels = labels.to(logits.device());
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    loss_sum += cross_entropy(logits, labels).item<double>() * static_cast<double>(labels.size(0));
  }
  const auto rows = static_cast<double>(std::max<int64_t>(data.size(), 1));
  return {static_cast<double>(correct) / rows, loss_sum / rows};
}

std::pair<double, double> evaluate_on_main(torch::jit::Module& model, const Dataset& data, const TrainConfig& config) {
  std::pair<double, double> result{-1, -1};
  if (config.is_main_rank()) result = evaluate_classifier(model, data, config.eval_batch_size);
  if (!config.data_parallel) return result;
  const auto shared = config.data_parallel->main_values({result.first, result.second});
  return {shared[0], shared[1]};
}

double measure_training_speed(const torch::jit::Module& model, const Dataset& train, const TrainConfig& config,
                              const Objective& objective, Precision precision, int64_t steps) {
  constexpr int64_t kWarmupSteps = 2;
  const auto rng = global_rng_state();
  use_cudnn_autotuner(config.device);
  auto copy = clone_module(model);
  copy.to(config.device);
  copy.train();
  const auto parameters = trainable_parameters(copy);
  auto optimizer = make_optimizer(parameters, config.optimizer);
  GradScaler scaler(precision == Precision::kFloat16, config.device);
  torch::jit::GraphOptimizerEnabledGuard plain_interpreter(false);  // as train_model runs
  const int64_t batch_size = std::min(config.batch_size, train.size());
  Clock::time_point start;
  for (int64_t step = 0; step < kWarmupSteps + steps; ++step) {
    if (step == kWarmupSteps) start = Clock::now();
    Batch batch;
    batch.indices = torch::arange(step * batch_size, (step + 1) * batch_size, torch::kLong).remainder(train.size());
    batch.step = step;
    fill_rows(batch, train);
    optimizer->zero_grad();
    auto terms = forward_backward(copy, batch, objective, precision, scaler);
    apply_gradients(*optimizer, parameters, scaler, config.clip_grad_norm);
    terms.front().second.item<double>();  // waits for the device, as the training loop's loss read does
  }
  const double seconds = seconds_since(start);
  set_global_rng_state(rng);
  return static_cast<double>(steps * batch_size) / std::max(seconds, 1e-9);
}

namespace {

TrainResult run_training(torch::jit::Module& model, const std::vector<torch::Tensor>& extra_parameters,
                         const Dataset& train, const Dataset& val, const TrainConfig& config,
                         const Objective& objective, const StepHook& after_step) {
  validate_config(config);
  if (train.size() == 0) throw invalid_input("the training set is empty");
  const auto& dp = config.data_parallel;
  if (dp && train.size() < dp->world_size()) {
    throw usage_error(fmt::format("{} training samples cannot be shared by {} ranks", train.size(), dp->world_size()));
  }
  const bool validate = val.size() > 0 && val.has_labels();
  const int64_t steps_per_epoch = batch_count(train.size(), config.batch_size);
  const int64_t total_steps = steps_per_epoch * config.epochs;
  const json fingerprint = run_fingerprint(config, train, extra_parameters.size());

  use_cudnn_autotuner(config.device);
  model.to(config.device);  // in place: the caller's handle trains on the device too
  for (const auto& p : extra_parameters) p.set_data(p.data().to(config.device));  // keeps the objective's reference
  auto parameters = trainable_parameters(model);
  if (parameters.empty()) {
    throw invalid_input("the model has no trainable parameters (none requires grad; a frozen model cannot be trained)");
  }
  for (const auto& p : extra_parameters) parameters.push_back(p);
  auto optimizer = make_optimizer(parameters, config.optimizer);

  LoopState state;
  state.precision = config.precision;
  WeightSnapshot best;
  TrainResult result;
  if (!config.resume_path.empty()) {
    auto contents = load_checkpoint(config.resume_path, *optimizer);
    if (contents.loop_state.at("fingerprint") != fingerprint) {
      throw usage_error(fmt::format("checkpoint '{}' is from another run ({}); this run is {}", config.resume_path.string(),
                                    contents.loop_state.at("fingerprint").dump(), fingerprint.dump()));
    }
    restore_weights(model, contents.weights);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < extra_parameters.size(); ++i) {  // the fingerprint guarantees the count
      extra_parameters[i].copy_(contents.extra_parameters[i]);  // in place: the optimizer holds them
    }
    state = LoopState::from_json(contents.loop_state);
    best = contents.best_weights;
    if (state.next_batch > 0) set_global_rng_state(contents.rng_state);
    result.resumed = true;
    // Hooks re-derive their state (e.g. pruning masks) from the restored weights before any step.
    if (after_step) after_step(state.step, total_steps);
    log_info("{}: resumed from {} at epoch {}, batch {}/{}", config.label, config.resume_path.string(), state.epoch + 1,
             state.next_batch, steps_per_epoch);
  }

  if (dp) join_ranks(model, extra_parameters, fingerprint, *dp);
  if (state.precision != config.precision) {
    log_info("{}: continuing in {} as the interrupted run did", config.label, precision_name(state.precision));
  }
  GradScaler scaler(state.precision == Precision::kFloat16, config.device);
  scaler.load_state(state.grad_scaler);

  auto save = [&] {
    if (config.checkpoint_path.empty() || !config.is_main_rank()) return;
    state.grad_scaler = scaler.state();
    CheckpointContents contents{snapshot_weights(model), extra_parameters, best, global_rng_state(),
                                state.to_json(fingerprint, extra_parameters.size())};
    save_checkpoint(config.checkpoint_path, contents, *optimizer);
  };

  clear_interrupt();
  ScopedInterruptHandler interrupt_handler;
  // The profiling executor's autodiff graphs made training steps slower than eager PyTorch
  // here (scripts/bench/distill_acceptance.sh); plain interpretation dispatches op by op as eager does.
  torch::jit::GraphOptimizerEnabledGuard plain_interpreter(false);
  ProgressLine progress;
  model.train();
  // A run that stopped early and was resumed (e.g. for its baseline) stays stopped.
  const auto stopped_early = [&] { return config.patience > 0 && state.stale_epochs >= config.patience; };
  result.early_stopped = stopped_early();
  while (state.epoch < config.epochs && !result.early_stopped) {
    if (state.next_batch == 0) {
      // Dropout masks of this epoch (each rank its own).
      torch::manual_seed(config.seed * 7919ULL + static_cast<uint64_t>(state.epoch) +
                         (dp ? static_cast<uint64_t>(dp->rank()) * 1000003ULL : 0));
      state.loss_sums.clear();
      state.rows_done = 0;
      state.epoch_seconds = 0;
    }
    const auto order = epoch_order(train.size(), config.seed, state.epoch);
    for (int64_t b = state.next_batch; b < steps_per_epoch; ++b) {
      const auto step_start = Clock::now();
      Batch batch;
      batch.indices = batch_slice(order, b, config.batch_size);
      batch.step = state.step;
      // A rank trains on its share of the global batch; a rank whose share is empty (a last batch
      // smaller than the world) runs the whole batch with weight 0, so every rank has the same terms.
      const int64_t global_rows = batch.indices.size(0);
      int64_t share = global_rows;
      if (dp) {
        const auto [begin, end] = dp->shard(global_rows);
        share = end - begin;
        if (share > 0) batch.indices = batch.indices.slice(0, begin, end);
        batch.shard = dp->rank();
      }
      fill_rows(batch, train);
      const double lr = learning_rate_at(config.schedule, config.optimizer.lr, state.step, total_steps, steps_per_epoch);
      set_learning_rate(*optimizer, lr);
      optimizer->zero_grad();
      auto terms = forward_backward(model, batch, objective, state.precision, scaler);
      std::vector<double> loss_values;  // each term summed over the batch's rows
      for (const auto& term : terms) loss_values.push_back(term.second.item<double>() * static_cast<double>(share));
      if (config.stop_after_steps > 0 && result.steps + 1 == config.stop_after_steps) request_interrupt();
      bool stop = false;
      if (dp) {  // the ranks agree on stopping at the same step, and sum their gradients and losses
        loss_values.push_back(interrupt_requested() ? 1 : 0);
        loss_values = dp->sum_gradients(parameters, static_cast<double>(share) / static_cast<double>(global_rows), loss_values);
        stop = loss_values.back() > 0;
        loss_values.pop_back();
      }
      apply_gradients(*optimizer, parameters, scaler, config.clip_grad_norm);
      ++state.step;
      ++result.steps;
      if (after_step) after_step(state.step, total_steps);
      if (!dp) stop = interrupt_requested();

      for (size_t t = 0; t < terms.size(); ++t) state.loss_sums[terms[t].first] += loss_values[t];
      state.rows_done += global_rows;
      state.total_rows += global_rows;
      const double step_seconds = seconds_since(step_start);
      state.epoch_seconds += step_seconds;
      state.total_seconds += step_seconds;
      const double rate = state.rows_done / std::max(state.epoch_seconds, 1e-9);
      const double rows_left = static_cast<double>((total_steps - state.step) * config.batch_size);
      progress.update(fmt::format("{} epoch {}/{}  batch {}/{}  loss: {}  {:.0f} samples/s  ETA {}", config.label,
                                  state.epoch + 1, config.epochs, b + 1, steps_per_epoch,
                                  loss_summary(state.loss_sums, state.rows_done), rate,
                                  format_duration(rows_left / std::max(rate, 1e-9))));

      if (stop) {
        state.next_batch = b + 1;
        save();
        progress.finish(fmt::format("{}: interrupted at epoch {}, batch {}/{}", config.label, state.epoch + 1, b + 1,
                                    steps_per_epoch));
        throw interrupted_error(config);
      }
    }
    state.next_batch = 0;

    EpochRecord record;
    record.epoch = state.epoch + 1;
    for (const auto& [name, sum] : state.loss_sums) record.train_loss[name] = sum / std::max<int64_t>(state.rows_done, 1);
    record.learning_rate = learning_rate_at(config.schedule, config.optimizer.lr, state.step - 1, total_steps, steps_per_epoch);
    record.seconds = state.epoch_seconds;
    record.samples_per_s = state.rows_done / std::max(state.epoch_seconds, 1e-9);
    std::string val_text;
    // Rank 0's normalization statistics everywhere: every rank then holds the same model.
    if (dp) dp->broadcast_from_main(model_buffers(model));
    if (validate) {
      std::tie(record.val_accuracy, record.val_loss) = evaluate_on_main(model, val, config);
      val_text = fmt::format("  val acc {:.2f}%", 100 * record.val_accuracy);
      if (record.val_accuracy > state.best_val_accuracy) {
        state.best_val_accuracy = record.val_accuracy;
        state.best_epoch = record.epoch;
        state.stale_epochs = 0;
        best = snapshot_weights(model);
      } else {
        ++state.stale_epochs;
      }
    }
    state.history.push_back(record);
    progress.finish(fmt::format("{} epoch {}/{}  loss: {}{}  {:.0f} samples/s  {:.1f}s", config.label, record.epoch,
                                config.epochs, loss_summary(state.loss_sums, state.rows_done), val_text,
                                record.samples_per_s, record.seconds));
    state.epoch += 1;
    save();
    // Ctrl-C during validation or the save (data-parallel ranks agree on stopping at the next step).
    if (!dp && interrupt_requested()) throw interrupted_error(config);
    result.early_stopped = stopped_early();
    if (result.early_stopped) {
      log_info("{}: no better validation accuracy for {} epochs; stopping early", config.label, config.patience);
    }
  }

  if (!best.empty()) restore_weights(model, best);
  result.history = state.history;
  result.best_epoch = state.best_epoch;
  result.best_val_accuracy = state.best_val_accuracy;
  result.train_seconds = state.total_seconds;
  result.samples_per_s = static_cast<double>(state.total_rows) / std::max(state.total_seconds, 1e-9);
  result.world_size = dp ? dp->world_size() : 1;
  result.precision = state.precision;
  if (scaler.enabled()) result.loss_scaling = {{"final_scale", scaler.current_scale()}, {"skipped_steps", scaler.skipped_steps()}};
  return result;
}

}  // namespace

TrainResult train_model(torch::jit::Module& model, const std::vector<torch::Tensor>& extra_parameters,
                        const Dataset& train, const Dataset& val, const TrainConfig& config,
                        const Objective& objective, const StepHook& after_step) {
  try {
    return run_training(model, extra_parameters, train, val, config, objective, after_step);
  } catch (const LostRankError& e) {
    const auto resume = config.resume_hint.empty() ? config.checkpoint_path : config.resume_hint;
    throw Error(ExitCode::kRuntimeFailure,
                fmt::format("{}: data-parallel training stopped: {}. {}", config.label, e.what(),
                            config.checkpoint_path.empty()
                                ? std::string("No checkpoint was set.")
                                : fmt::format("Restart every rank with --resume {} (written by rank 0 after each epoch; "
                                              "same world size)",
                                              resume.string())));
  }
}

}  // namespace mopt::train
