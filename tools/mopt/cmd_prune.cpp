// mopt prune MODEL -o OUT --method magnitude|channel|N:M: sparsify or physically shrink a model,
// optionally fine-tune it (shared training loop), and measure size, MACs, latency and accuracy.
#include "lib/errors.h"
#include "lib/measure/memory.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/profiles/profile.h"
#include "lib/prune/prune_workflow.h"
#include "lib/util/log.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"
#include "tools/mopt/train_flags.h"

namespace mopt::cli {
namespace {

struct PruneArgs {
  CommonArgs common;
  TrainFlags training;
  std::string model, output, method = "magnitude", norm = "l1", profile;
  int64_t round_to = 0;  // 0 = not given: the profile's, else prune::kDefaultRoundTo
  double amount = 0.5;
  bool global = false, force = false;
  std::string amounts;
  std::vector<std::string> include, exclude;
  std::string schedule;
  int64_t steps = 10;
  double initial_sparsity = 0;
  std::string finetune_data, finetune_labels, eval_data, labels, normalize, input_shape, teacher;
  int64_t finetune_samples = 0, eval_samples = 0;
  double temperature = 3, alpha = 0.7, max_accuracy_drop = -1;
  int iterations = 50;
  bool time_latency = true;
};

std::string shape_text(const nlohmann::json& shape) {
  std::vector<int64_t> dims = shape.get<std::vector<int64_t>>();
  return fmt::format("{}", fmt::join(dims, "x"));
}

// "kept (asked)" for a layer whose output channels were pruned, e.g. "352 (359)"; "" otherwise.
std::string kept_channels_text(const nlohmann::json& layer) {
  if (!layer.contains("channels_kept")) return "";
  const auto kept = layer["channels_kept"].get<int64_t>(), asked = layer["channels_requested"].get<int64_t>();
  return kept == asked ? std::to_string(kept) : fmt::format("{} ({})", kept, asked);
}

void print_outcome(const prune::PruneOutcome& outcome, const std::string& method, const std::string& in,
                   const std::string& out, const std::string& rounding) {
  say("{} -> {}  (--method {}{})", in, out, method, rounding.empty() ? "" : ", " + rounding);
  const bool channel = method == "channel";
  say("{:<28} {:>24} {:>9} {:>12}{}", "layer", "weight shape", "sparsity", "params cut",
      channel ? fmt::format(" {:>16}", "kept (asked)") : "");
  for (const auto& l : outcome.layers) {
    const auto before = shape_text(l["shape_before"]), after = shape_text(l["shape_after"]);
    say("{:<28} {:>24} {:>8.1f}% {:>12}{}", l["layer"].get<std::string>(), before == after ? before : before + " -> " + after,
        100 * l["sparsity"].get<double>(), l["parameters_removed"].get<int64_t>(),
        channel ? fmt::format(" {:>16}", kept_channels_text(l)) : "");
  }
  for (const auto& g : outcome.groups) {
    if (!g["pruned"].get<bool>()) log_verbose("left whole: {} ({})", fmt::join(g["producers"].get<std::vector<std::string>>(), ", "),
                                              g["skipped_reason"].get<std::string>());
  }
  const auto& t = outcome.totals;
  const auto& c = outcome.comparison;
  say("{:<28} {:>14} {:>14}", "", "before", "after");
  say("{:<28} {:>14} {:>14}   ({:.2f}x)", "parameters", t["before"]["parameters"].get<int64_t>(),
      t["after"]["parameters"].get<int64_t>(), t["parameter_ratio"].get<double>());
  say("{:<28} {:>14} {:>14}", "non-zero parameters", t["before"]["nonzero_parameters"].get<int64_t>(),
      t["after"]["nonzero_parameters"].get<int64_t>());
  if (t.contains("mac_ratio")) {
    say("{:<28} {:>14} {:>14}   ({:.2f}x)", "MACs per sample", t["before"]["macs"].get<int64_t>(),
        t["after"]["macs"].get<int64_t>(), t["mac_ratio"].get<double>());
  }
  say("{:<28} {:>14} {:>14}", "file bytes", t["before"]["bytes"].get<int64_t>(), t["after"]["bytes"].get<int64_t>());
  say("{:<28} {:>14} {:>14}", "gzip bytes", t["before"]["gzip_bytes"].get<int64_t>(), t["after"]["gzip_bytes"].get<int64_t>());
  if (t["after"].contains("onnx_bytes")) say("{:<28} {:>14} {:>14}", "ONNX file bytes", "", t["after"]["onnx_bytes"].get<int64_t>());
  say_latency_and_accuracy(c);
  for (const auto& note : outcome.notes) say("note: {}", note);
}

void run_prune_command(const PruneArgs& args, Report& report) {
  check_output_path(args.model, args.output, args.force);
  if (args.training.data_parallel.enabled() && args.finetune_data.empty()) {
    throw usage_error(fmt::format("{} ranks were asked for (--world-size or WORLD_SIZE), but only fine-tuning runs "
                                  "data-parallel: give --finetune-data, or run one process",
                                  args.training.data_parallel.world_size));
  }
  if (args.finetune_data.empty() && (args.training.device != "cpu" || !args.training.amp.empty())) {
    throw usage_error("--device and --amp apply to fine-tuning: give --finetune-data (pruning itself runs on the CPU)");
  }
  // Fine-tuning frees and re-maps its activations every batch with glibc's defaults, as distill did.
  if (!args.finetune_data.empty()) keep_freed_memory_in_process();
  const bool onnx_out = std::filesystem::path(args.output).extension() == ".onnx";
  if (!onnx_out) require_torchscript_output(args.output);
  auto input = load_executable(args.model);
  report.add_input(args.model, &input);

  prune::PruneRequest request;
  request.reference = as_given(args.model, input);
  request.method = args.method;
  request.amount = args.amount;
  request.global = args.global;
  request.amounts_file = args.amounts;
  request.norm = args.norm == "l2" ? 2 : 1;
  // --round-to, else the profile's prune.round_to, else the fixed default; the report says which.
  prune::PruneJob job;
  job.output = args.output;
  if (args.round_to > 0) {
    if (args.method != "channel") throw usage_error("--round-to applies to --method channel (whole channels)");
    request.round_to = args.round_to;
    job.round_to_source = "flag";
  } else if (!args.profile.empty()) {
    const auto profile = load_profile(args.profile);
    request.round_to = profile.prune.round_to;
    job.round_to_source = "profile";
    job.profile = profile.name;
  }
  request.selection = {args.include, args.exclude};
  request.schedule = args.schedule;
  request.schedule_steps = args.steps;
  request.initial_sparsity = args.initial_sparsity;
  request.temperature = args.temperature;
  request.alpha = args.alpha;
  if (!args.finetune_data.empty()) request.train = train_config(args.training, args.output);
  request.comparison.iterations = args.iterations;
  request.comparison.allocator_check = true;
  request.comparison.time_latency = args.time_latency;
  if (!args.teacher.empty()) {
    request.teacher = load_executable(args.teacher);
    report.add_input(args.teacher, &*request.teacher);
  }
  if (!args.eval_data.empty() && !args.input_shape.empty()) throw usage_error("give --eval-data or --input-shape, not both");
  if (!args.finetune_data.empty()) {
    request.finetune = load_data_path(args.finetune_data, args.finetune_labels, "train", args.finetune_samples, args.normalize);
    log_info("fine-tuning data: {}", request.finetune.description);
  }
  if (!args.eval_data.empty()) {
    request.eval = load_data_path(args.eval_data, args.labels, "test", args.eval_samples, args.normalize);
  } else {
    DataArgs synthetic;
    synthetic.input_shape = args.input_shape;
    synthetic = with_graph_input(synthetic, args.model);  // an ONNX model declares its inputs
    if (has_data(synthetic)) request.eval = load_data(synthetic, "test");
  }
  request.onnx_output = onnx_out;
  prune::validate_request(request);  // before any work: bad flags exit 2 at once
  if (args.max_accuracy_drop >= 0 && !request.eval.has_labels()) {
    throw usage_error("--max-accuracy-drop needs labelled --eval-data");
  }

  if (args.max_accuracy_drop >= 0) job.max_accuracy_drop = args.max_accuracy_drop;

  prune::run_prune_job(input, request, job, report, [&](const prune::PruneOutcome& outcome) {
    std::string rounding;
    if (args.method == "channel") {
      rounding = fmt::format("--round-to {} ({})", request.round_to,
                             job.profile.empty() ? job.round_to_source : "from profile " + job.profile);
    }
    print_outcome(outcome, args.method, args.model, args.output, rounding);
    warn_if_busy(report);
  });
  if (!request.train.is_main_rank()) return;
  remove_default_checkpoints(args.training, args.output);
}

}  // namespace

void setup_prune(CLI::App& app) {
  auto args = std::make_shared<PruneArgs>();
  auto* cmd = app.add_subcommand("prune", "unstructured, N:M or structured channel pruning, with fine-tuning and measured effect");
  cmd->add_option("MODEL", args->model, "unfrozen TorchScript model")->required();
  cmd->add_option("-o,--output", args->output, "output (.pt, .ptl for the lite interpreter, or .onnx: exported after pruning, timed in ONNX Runtime)")->required();
  cmd->add_option("--method", args->method,
                  "magnitude (L1 unstructured, default), channel (removes whole channels: smaller and faster), "
                  "or an N:M pattern such as 2:4");
  cmd->add_option("--amount", args->amount, "fraction of weights (magnitude) or channels (channel) to remove, in (0,1); default 0.5");
  cmd->add_flag("--global", args->global, "magnitude: one threshold across all selected layers");
  cmd->add_option("--amounts", args->amounts, "magnitude: per-layer amounts, JSON {\"layer or glob\": amount}")->type_name("FILE");
  cmd->add_option("--norm", args->norm, "channel: rank filters by l1 (default) or l2 norm")->check(CLI::IsMember({"l1", "l2"}));
  cmd->add_option("--round-to", args->round_to,
                  fmt::format("channel: keep channel counts that are multiples of N, nearest to what --amount asks "
                              "(never 0, never more than the layer has); 1 = off; default: the --profile's "
                              "prune.round_to, else {}",
                              prune::kDefaultRoundTo))
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--profile", args->profile,
                  "device profile (name or JSON file) whose prune.round_to is the --round-to default "
                  "(16 for AVX-512, 8 for AVX2 and NEON)")
      ->type_name("NAME");
  cmd->add_option("--include", args->include, "only layers matching this glob (repeatable)")->type_name("PATTERN");
  cmd->add_option("--exclude", args->exclude, "skip layers matching this glob (repeatable)")->type_name("PATTERN");
  cmd->add_option("--schedule", args->schedule,
                  "magnitude: prune gradually while fine-tuning, sparsity rising cubic or linear over the first half")
      ->check(CLI::IsMember({"cubic", "linear"}));
  cmd->add_option("--steps", args->steps, "gradual pruning steps (default 10)");
  cmd->add_option("--initial-sparsity", args->initial_sparsity, "gradual: sparsity of the first step (default 0)");
  cmd->add_option("--finetune-data", args->finetune_data, "fine-tune after pruning on this data (train split by default)")
      ->type_name("DATA");
  cmd->add_option("--finetune-labels", args->finetune_labels, "labels for a --finetune-data file")->type_name("FILE");
  cmd->add_option("--finetune-samples", args->finetune_samples, "fine-tune on the first N samples (0 = all)");
  cmd->add_option("--teacher", args->teacher, "fine-tune against this model's soft targets (usually the original)")
      ->type_name("MODEL");
  cmd->add_option("--temperature", args->temperature, "teacher soft-target temperature (default 3)");
  cmd->add_option("--alpha", args->alpha, "weight of the soft-target loss (default 0.7)");
  cmd->add_option("--eval-data", args->eval_data, "measure accuracy/agreement on this data (test split by default)")
      ->type_name("DATA");
  cmd->add_option("--labels", args->labels, "labels for an --eval-data file")->type_name("FILE");
  cmd->add_option("--eval-samples", args->eval_samples, "evaluate on the first N samples (0 = all)");
  cmd->add_option("--input-shape", args->input_shape, "synthetic input for measuring when there is no data, e.g. 1x3x224x224")
      ->type_name("SPEC");
  cmd->add_option("--normalize", args->normalize, "MEAN,STD or M1,M2,M3/S1,S2,S3 for uint8 images")->type_name("MEAN,STD");
  cmd->add_option("--iterations", args->iterations, "timed calls for the latency comparison (default 50)")->check(CLI::PositiveNumber);
  add_no_latency_flag(*cmd, args->time_latency);
  cmd->add_option("--max-accuracy-drop", args->max_accuracy_drop, "fail (exit 3, no artifact) if accuracy drops more")
      ->type_name("POINTS");
  cmd->add_flag("--force", args->force, "allow writing over the input model");
  add_train_flags(*cmd, args->training);
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt prune cnn.pt -o cnn.pruned.pt --method channel --amount 0.5 \\\n"
                          "      --finetune-data /usr/share/datasets/fashion-mnist --epochs 2 --teacher cnn.pt \\\n"
                          "      --eval-data /usr/share/datasets/fashion-mnist --normalize 0.286,0.353\n"
                          "  mopt prune resnet18.pt -o r.pt --method channel --amount 0.3 --input-shape 1x3x224x224\n"
                          "  mopt prune resnet18.pt -o r.pt --method channel --amount 0.3 --profile x86-64-avx512-vnni \\\n"
                          "      --input-shape 1x3x224x224      # 512 channels keep 352 (30% asks 359)\n"
                          "  mopt prune model.pt -o sparse.pt --method magnitude --amount 0.5 --global --exclude 'fc'\n"
                          "  mopt prune model.pt -o sparse.pt --method 2:4 --input-shape 1x784\n"
                          "  mopt prune model.pt -o s.pt --amount 0.8 --schedule cubic --steps 10 --finetune-data DATA\n"
                          "  mopt prune ... --finetune-data DATA --world-size 2 --rank R   (fine-tuning data-parallel on 2 processes,\n"
                          "                                                              one per R; rank 0 measures and writes)\n\n"
                          "Unstructured (magnitude, N:M) sparsity keeps tensor shapes: it shrinks the compressed file,\n"
                          "not CPU latency; channel pruning removes channels and is faster everywhere.\n\n") +
              exit_codes_help());
  cmd->callback([args] {
    prepare_rank(args->training, args->common);
    run_reported("prune", args->common, [&](Report& report) { run_prune_command(*args, report); });
  });
}

}  // namespace mopt::cli
