// mopt: one binary, one subcommand per job. This file maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/report/report.h"
#include "lib/runtime/asan_tensor_cache.h"
#include "lib/runtime/cuda.h"
#include "lib/runtime/runtime.h"
#include "lib/runtime/torch_warnings.h"
#include "lib/util/removed_on_signal.h"
#include "tools/mopt/commands.h"

namespace {

void print_version() {
  auto versions = mopt::build_versions();
  const auto& cpu = mopt::cpu_info();
  fmt::print("mopt {}\n", versions["mopt"].get<std::string>());
  fmt::print("built with LibTorch {}, ONNX {}, protobuf {}\n", versions["libtorch"].get<std::string>(),
             versions["onnx"].get<std::string>(), versions["protobuf"].get<std::string>());
  fmt::print("quantized engines: {} (default {})\n", fmt::join(mopt::available_engines(), ", "), mopt::default_engine());
  fmt::print("cpu: {} ({}, {} logical cores)\n", cpu.model, cpu.architecture, cpu.logical_cores);
  fmt::print("isa features: {}\n", cpu.features.empty() ? "none detected" : fmt::format("{}", fmt::join(cpu.features, " ")));
  fmt::print("{}\n", mopt::describe_cuda(mopt::cuda_status()));
}

}  // namespace

int main(int argc, char** argv) {
  mopt::install_asan_tensor_cache();
  mopt::install_removal_on_signal();
  mopt::drop_quantized_deprecation_warnings();
  for (int i = 0; i < argc; ++i) mopt::cli::process_argv().push_back(argv[i]);

  CLI::App app{"mopt: model optimization toolchain (LibTorch + ONNX, no Python at run time)", "mopt"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print versions, quantized engines, CPU features and what CUDA finds");
  mopt::cli::setup_inspect(app);
  mopt::cli::setup_passes(app);
  mopt::cli::setup_optimize(app);
  mopt::cli::setup_quantize(app);
  mopt::cli::setup_compile(app);
  mopt::cli::setup_distill(app);
  mopt::cli::setup_prune(app);
  mopt::cli::setup_profiles(app);
  mopt::cli::setup_bench(app);
  mopt::cli::setup_batch(app);
  app.footer(std::string("Examples:\n"
                         "  mopt inspect model.pt\n"
                         "  mopt passes\n"
                         "  mopt optimize model.pt -p 'freeze,fold-conv-bn,optimize-for-inference' -o fast.pt --report r.json\n"
                         "  mopt bench fast.pt --input-shape x:1x3x224x224 --batch 1,8 --fail-if 'latency.p95_ms > 20'\n"
                         "  mopt prune cnn.pt -o small.pt --method channel --amount 0.5 --input-shape 1x1x28x28\n"
                         "  mopt distill --teacher cnn.pt --student small.pt --train DATA --val DATA -o student.pt\n"
                         "  mopt batch models.json --jobs 2\n"
                         "Run `mopt COMMAND --help` for a command's flags.\n\n") +
             mopt::cli::exit_codes_help());

  try {
    app.parse(argc, argv);
    if (version) {
      print_version();
      return 0;
    }
    if (app.get_subcommands().empty()) {
      fmt::print("{}", app.help());
      return static_cast<int>(mopt::ExitCode::kUsage);
    }
    return 0;
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the parse error
    return code == 0 ? 0 : static_cast<int>(mopt::ExitCode::kUsage);
  } catch (const mopt::Error& e) {
    fmt::print(stderr, "mopt: error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    fmt::print(stderr, "mopt: error: {}\n", mopt::short_torch_message(e.what()));
    return static_cast<int>(mopt::ExitCode::kRuntimeFailure);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mopt: error: {}\n", e.what());
    return static_cast<int>(mopt::ExitCode::kRuntimeFailure);
  }
}
