// mopt inspect MODEL: what a model is, before optimizing it.
#include "lib/inspect/model_summary.h"
#include "lib/util/log.h"
#include "tools/mopt/commands.h"

namespace mopt::cli {
namespace {

struct InspectArgs {
  CommonArgs common;
  std::string model;
  int top_layers = 0;
};

std::string shape_text(const nlohmann::json& shape) {
  if (shape.is_null()) return "?";
  std::vector<std::string> dims;
  for (const auto& d : shape) dims.push_back(d.is_string() ? d.get<std::string>() : std::to_string(d.get<int64_t>()));
  return fmt::format("[{}]", fmt::join(dims, ","));
}

void print_summary(const nlohmann::json& s, const std::string& path, int top_layers) {
  say("{}  ({}, {} bytes)", path, s["format"].get<std::string>(), s["file_bytes"].get<int64_t>());
  say("parameters: {} ({} bytes)", s["parameters"].get<int64_t>(), s["parameter_bytes"].get<int64_t>());
  if (s.contains("package")) {
    std::vector<std::string> build;
    for (const auto& [key, value] : s["package"].items()) build.push_back(fmt::format("{}={}", key, value.get<std::string>()));
    say("AOTInductor package: compiled code, runs in `mopt bench` with the input shapes it was exported for ({})", fmt::join(build, ", "));
  }
  if (s.contains("executable")) {
    if (s["executable"].get<bool>()) say("runs in mopt: yes (through the ONNX importer)");
    else say("runs in mopt: no; no converter for {}", s["unsupported_summary"].get<std::string>());
  }
  for (const char* side : {"inputs", "outputs"}) {
    for (const auto& v : s[side]) {
      say("{:<8} {:<24} {:<10} {}", side == std::string("inputs") ? "input" : "output", v["name"].get<std::string>(),
          v["dtype"].get<std::string>(), shape_text(v["shape"]));
    }
  }
  // Op histogram, most frequent first.
  std::vector<std::pair<int64_t, std::string>> ops;
  for (auto& [kind, count] : s["op_histogram"].items()) ops.emplace_back(count.get<int64_t>(), kind);
  std::sort(ops.rbegin(), ops.rend());
  say("ops ({} kinds):", ops.size());
  for (const auto& [count, kind] : ops) say("  {:>6}  {}", count, kind);
  const auto& layers = s["layers"];
  size_t shown = top_layers > 0 ? std::min<size_t>(layers.size(), static_cast<size_t>(top_layers)) : layers.size();
  say("layers ({}):", layers.size());
  say("  {:<40} {:<20} {:>12}  {}", "name", "kind", "parameters", "shape");
  for (size_t i = 0; i < shown; ++i) {
    const auto& l = layers[i];
    say("  {:<40} {:<20} {:>12}  {}", l["name"].get<std::string>(), l["kind"].get<std::string>(),
        l["parameters"].get<int64_t>(), shape_text(l["shape"]));
  }
  if (shown < layers.size()) say("  ... {} more (see the report)", layers.size() - shown);
}

}  // namespace

void setup_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "show a model's format, inputs/outputs, parameters, ops and layers");
  cmd->add_option("MODEL", args->model, "TorchScript (.pt/.ptl), ONNX (.onnx) or AOTInductor package (.pt2) file")->required();
  cmd->add_option("--top", args->top_layers, "show only the first N layers (0 = all)")->type_name("N");
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n  mopt inspect model.pt\n  mopt inspect model.onnx --report inspect.json\n\n") +
              exit_codes_help());
  cmd->callback([args] {
    run_reported("inspect", args->common, [&](Report& report) {
      auto model = load_for_inspection(args->model);
      auto summary = summarize_model(model, args->model);
      report.add_input(args->model, &model);
      report.details()["model"] = summary;
      print_summary(summary, args->model, args->top_layers);
    });
  });
}

}  // namespace mopt::cli
