// mopt passes: every registered pass with its summary, formats and options.
#include "lib/util/log.h"
#include "passes/register_all_passes.h"
#include "tools/mopt/commands.h"

namespace mopt::cli {

void setup_passes(CLI::App& app) {
  auto common = std::make_shared<CommonArgs>();
  auto* cmd = app.add_subcommand("passes", "list every pass with its formats and options");
  add_common_flags(*cmd, *common);
  cmd->footer("Pipelines chain passes: freeze,fold-conv-bn,remove-dropout{} or name{key=value key2=value}.\n"
              "Example:\n  mopt passes\n  mopt optimize model.pt --pipeline 'freeze,optimize-for-inference' -o out.pt");
  cmd->callback([common] {
    run_reported("passes", *common, [&](Report& report) {
      auto registry = make_default_registry();
      nlohmann::json listing = nlohmann::json::array();
      for (const Pass* pass : registry.all()) {
        const auto& info = pass->info();
        std::vector<std::string> formats;
        for (auto f : info.formats) formats.push_back(format_name(f));
        say("{:<24} [{}] {}", info.name, fmt::join(formats, ","), info.summary);
        nlohmann::json options = nlohmann::json::array();
        for (const auto& o : info.options) {
          say("    {} ({}, default {}): {}", o.name, option_type_name(o.type), o.default_value, o.help);
          options.push_back({{"name", o.name}, {"type", option_type_name(o.type)}, {"default", o.default_value}, {"help", o.help}});
        }
        listing.push_back({{"name", info.name}, {"summary", info.summary}, {"formats", formats}, {"options", options}});
      }
      report.details()["passes"] = listing;
    });
  });
}

}  // namespace mopt::cli
