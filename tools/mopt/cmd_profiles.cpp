// mopt profiles list|show|validate: the device profiles `mopt compile` targets.

#include "lib/errors.h"
#include "lib/measure/gates.h"
#include "lib/pipeline/pipeline.h"
#include "lib/profiles/profile.h"
#include "lib/util/log.h"
#include "passes/register_all_passes.h"
#include "tools/mopt/commands.h"

namespace mopt::cli {
namespace {

std::string budgets_text(const Budgets& b) {
  std::vector<std::string> parts{fmt::format("batch {}", b.batch)};
  auto add = [&](const std::optional<double>& v, const char* what, const char* unit) {
    if (v) parts.push_back(fmt::format("{} {}{}", what, format_number(*v), unit));
  };
  add(b.latency_p50_ms, "latency p50 <=", " ms");
  add(b.latency_p95_ms, "latency p95 <=", " ms");
  add(b.throughput_samples_per_s, "throughput >=", " samples/s");
  add(b.peak_memory_mb, "peak memory <=", " MB");
  add(b.model_size_mb, "model file <=", " MB");
  add(b.min_accuracy_top1, "top-1 accuracy >=", "");
  add(b.max_cpu_percent, "cpu <=", "%");
  return fmt::format("{}", fmt::join(parts, "; "));
}

// The profile as written, without trailing newlines (printed verbatim by `show`).
std::string profile_text(const std::filesystem::path& file) {
  std::string out = read_profile_text(file);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The library checks pipeline syntax only (lib knows no pass by name); the tool knows the registry.
std::vector<std::string> pipeline_errors(const std::filesystem::path& file, const std::string& pipeline_text) {
  try {
    static const PassRegistry registry = make_default_registry();
    validate_pipeline(parse_pipeline(pipeline_text), registry);
    return {};
  } catch (const Error& e) {
    return {fmt::format("compile_pipeline: {} (line {})", e.what(), field_line(profile_text(file), "/compile_pipeline"))};
  }
}

nlohmann::json summary(const Profile& p) {
  return {{"name", p.name},
          {"architecture", p.architecture},
          {"device", p.device},
          {"quantized_engine", p.quantized_engine},
          {"precision", p.precision},
          {"artifact_format", p.artifact_format},
          {"runtimes", p.runtimes},
          {"description", p.description},
          {"runs_on_host", runs_on_host(p)},
          {"source", p.source.string()}};
}

void run_list(Report& report) {
  auto profiles = shipped_profiles();
  say("{:<20} {:<7} {:<6} {:<8} {:<5} {:<6} {}", "NAME", "ARCH", "DEVICE", "ENGINE", "PREC", "FORMAT", "DESCRIPTION");
  nlohmann::json listing = nlohmann::json::array();
  for (const auto& p : profiles) {
    say("{:<20} {:<7} {:<6} {:<8} {:<5} {:<6} {}", p.name, p.architecture, p.device, p.quantized_engine, p.precision,
        p.artifact_format, p.description);
    listing.push_back(summary(p));
  }
  log_verbose("profiles from {}", profiles_dir().string());
  report.details()["profiles_dir"] = profiles_dir().string();
  report.details()["profiles"] = listing;
}

void run_show(Report& report, const std::string& name_or_path) {
  Profile p = load_profile(name_or_path);
  auto gates = budget_gates(p);
  say("{}: {}", p.name, p.description);
  say("  {:<14} {}", "source", p.source.string());
  say("  {:<14} {}{} (this host: {})", "architecture", p.architecture,
      p.isa_features.empty() ? "" : fmt::format(" [{}]", fmt::join(p.isa_features, " ")),
      runs_on_host(p) ? "yes" : "no, compile only");
  say("  {:<14} {}", "device", p.device == "cuda" ? "cuda (an NVIDIA GPU: compile and bench check and measure on one)" : "cpu");
  say("  {:<14} {} of {} cores", "threads", p.threads, p.cores);
  say("  {:<14} {}", "engine", p.quantized_engine);
  say("  {:<14} {}", "precision", p.precision);
  say("  {:<14} {}", "artifact", p.artifact_format);
  say("  {:<14} {}", "runtimes", fmt::join(p.runtimes, ", "));
  say("  {:<14} {}", "compile", p.compile_pipeline);
  say("  {:<14} {}, calibrator {}, {}", "quantize", p.quantize.mode, p.quantize.calibrator,
      p.quantize.per_channel ? "per-channel" : "per-tensor");
  say("  {:<14} {}", "prune", p.prune.round_to > 1 ? fmt::format("channel counts rounded to multiples of {}", p.prune.round_to)
                                                       : std::string("channel counts not rounded"));
  say("  {:<14} {}", "budgets", budgets_text(p.budgets));
  std::vector<std::string> flags;
  for (const auto& g : gates) flags.push_back(fmt::format("--fail-if '{}'", g));
  say("  {:<14} {}", "bench gates", flags.empty() ? "none" : fmt::format("{}", fmt::join(flags, " ")));
  // The file as written: nlohmann::json would print the keys sorted, not in the author's order.
  say("{}", profile_text(p.source));
  report.details()["profile"] = p.raw;
  report.details()["source"] = p.source.string();
  report.details()["runs_on_host"] = runs_on_host(p);
  report.details()["budget_gates"] = gates;
}

void run_validate(Report& report, const std::string& name_or_path) {
  auto path = resolve_profile_path(name_or_path);
  auto errors = validate_profile_file(path);
  if (errors.empty()) errors = pipeline_errors(path, load_profile(path.string()).compile_pipeline);
  report.details()["file"] = path.string();
  report.details()["valid"] = errors.empty();
  report.details()["errors"] = errors;
  if (!errors.empty()) {
    throw invalid_input(fmt::format("{} is not a valid profile ({} error{}):\n  {}", path.string(), errors.size(),
                                    errors.size() == 1 ? "" : "s", fmt::join(errors, "\n  ")));
  }
  say("{}: valid", path.string());
}

}  // namespace

void setup_profiles(CLI::App& app) {
  auto* cmd = app.add_subcommand("profiles", "list, show and validate device profiles (targets for mopt compile)");
  cmd->require_subcommand(1);
  cmd->footer(std::string("A profile is one JSON file per target: architecture, threads, quantized engine, precision,\n"
                          "artifact format, compile pipeline, quantize defaults and budgets (bench gates).\n"
                          "Shipped profiles live in $MOPT_PROFILES_DIR, <prefix>/share/mopt/profiles or the source tree.\n"
                          "Examples:\n"
                          "  mopt profiles list\n"
                          "  mopt profiles show raspberry-pi-4\n"
                          "  mopt profiles show my-board.json --report profile.json\n"
                          "  mopt profiles validate my-board.json\n\n") +
              exit_codes_help());

  auto list_args = std::make_shared<CommonArgs>();
  auto* list = cmd->add_subcommand("list", "one line per shipped profile: name, arch, engine, precision, format");
  add_common_flags(*list, *list_args);
  list->footer(std::string("Example:\n  mopt profiles list\n\n") + exit_codes_help());
  list->callback([list_args] { run_reported("profiles list", *list_args, run_list); });

  auto show_args = std::make_shared<CommonArgs>();
  auto target = std::make_shared<std::string>();
  auto* show = cmd->add_subcommand("show", "a profile in words, its bench gates, and its JSON");
  show->add_option("profile", *target, "shipped profile name or path to a .json file")->required()->type_name("NAME|FILE");
  add_common_flags(*show, *show_args);
  show->footer(std::string("Examples:\n  mopt profiles show edge-iot\n  mopt profiles show ./my-board.json --report p.json\n"
                           "Unknown names exit 2 and list the shipped ones; an invalid file exits 4.\n\n") +
               exit_codes_help());
  show->callback([show_args, target] {
    run_reported("profiles show", *show_args, [&](Report& report) { run_show(report, *target); });
  });

  auto validate_args = std::make_shared<CommonArgs>();
  auto file = std::make_shared<std::string>();
  auto* validate = cmd->add_subcommand("validate", "check a profile file against the schema and the pass registry");
  validate->add_option("file", *file, "profile .json file (or a shipped profile name)")->required()->type_name("FILE");
  add_common_flags(*validate, *validate_args);
  validate->footer(std::string("Prints \"valid\" and exits 0, or exits 4 listing each problem as\n"
                               "\"field: message (line N)\".\n"
                               "Example:\n  mopt profiles validate my-board.json\n\n") +
                   exit_codes_help());
  validate->callback([validate_args, file] {
    run_reported("profiles validate", *validate_args, [&](Report& report) { run_validate(report, *file); });
  });
}

}  // namespace mopt::cli
