// Tensor files as `--data`/`--calib`/`--labels` read them: load_dataset on the file as inputs,
// with the same file as labels (prepare_inputs and prepare_labels both run), and normalized.
#include "lib/data/dataset.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/targets/targets.h"

namespace mopt::fuzz {
namespace {

std::string run_dataset_file(const char* name, const uint8_t* data, size_t size) {
  auto path = write_scratch_file(name, data, size);
  auto finding = refusals_only([&] { load_dataset(path, DatasetOptions{}); }, {ExitCode::kInvalidInput}, path);
  if (!finding.empty()) return finding;
  DatasetOptions with_labels;
  with_labels.labels_path = path;
  finding = refusals_only([&] { load_dataset(path, with_labels); }, {ExitCode::kInvalidInput}, path);
  if (!finding.empty()) return finding;
  // --normalize on integer data (token ids) is a usage error: the flag does not fit the file.
  DatasetOptions normalized;
  normalized.mean = {0.5};
  normalized.std = {0.25};
  return refusals_only([&] { load_dataset(path, normalized); }, {ExitCode::kInvalidInput, ExitCode::kUsage}, path);
}

}  // namespace

std::string run_npy(const uint8_t* data, size_t size) { return run_dataset_file("data.npy", data, size); }
std::string run_idx(const uint8_t* data, size_t size) { return run_dataset_file("images-idx3-ubyte.gz", data, size); }
std::string run_tensor_pb(const uint8_t* data, size_t size) { return run_dataset_file("input_0.pb", data, size); }
std::string run_torch_saved(const uint8_t* data, size_t size) { return run_dataset_file("tensor.pt", data, size); }

}  // namespace mopt::fuzz
