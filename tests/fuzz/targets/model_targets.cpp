// Model files as `mopt inspect`, `optimize` and every command that runs a model read them.
#include <onnx/checker.h>

#include "lib/inspect/model_summary.h"
#include "lib/model/model.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/pipeline/pass_manager.h"
#include "passes/register_all_passes.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/targets/targets.h"

namespace mopt::fuzz {
namespace {

// Every ONNX pass, in the order the guide's ONNX clean-up example runs them.
constexpr const char* kOnnxPipeline =
    "eliminate-identity,fold-constants,constants-to-initializers,fuse-conv-bn,eliminate-dead-nodes";

}  // namespace

std::string run_onnx_model(const uint8_t* data, size_t size) {
  static const PassRegistry registry = make_default_registry();
  static const Pipeline pipeline = parse_pipeline(kOnnxPipeline);
  auto path = write_scratch_file("model.onnx", data, size);
  return refusals_only(
      [&] {
        auto model = Model::load(path);
        summarize_model(model, path);  // mopt inspect
        if (!model.is_onnx()) return;  // a zip archive: the torchscript target's business
        try {
          // The checker's verdict is ONNX's, not mopt's (the importer accepts what runtimes accept);
          // it runs for its own robustness on what mopt has already parsed.
          onnx::checker::check_model(model.onnx());
        } catch (const onnx::checker::ValidationError&) {
        }
        load_executable(path);                  // the ONNX -> TorchScript import every command does
        run_pipeline(model, pipeline, registry);  // mopt optimize model.onnx -p ...
      },
      {ExitCode::kInvalidInput}, path);
}

std::string run_torchscript(const uint8_t* data, size_t size) {
  auto path = write_scratch_file("model.pt", data, size);
  return refusals_only(
      [&] {
        auto model = Model::load(path);
        summarize_model(model, path);
      },
      {ExitCode::kInvalidInput}, path);
}

}  // namespace mopt::fuzz
