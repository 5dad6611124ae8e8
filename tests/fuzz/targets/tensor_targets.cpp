// Tensor files as `--data`/`--calib`/`--labels` read them: load_dataset on the file, once as
// inputs and once with the same file as labels (prepare_inputs and prepare_labels both run).
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
  with_labels.mean = {0.5};
  with_labels.std = {0.25};
  return refusals_only([&] { load_dataset(path, with_labels); }, {ExitCode::kInvalidInput}, path);
}

}  // namespace

std::string run_npy(const uint8_t* data, size_t size) { return run_dataset_file("data.npy", data, size); }
std::string run_idx(const uint8_t* data, size_t size) { return run_dataset_file("images-idx3-ubyte.gz", data, size); }
std::string run_tensor_pb(const uint8_t* data, size_t size) { return run_dataset_file("input_0.pb", data, size); }
std::string run_torch_saved(const uint8_t* data, size_t size) { return run_dataset_file("tensor.pt", data, size); }

}  // namespace mopt::fuzz
