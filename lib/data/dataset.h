#pragma once
// Datasets for calibration, evaluation, training and benchmarking: one path in, float inputs
// (+ optional int64 labels) out, plus seeded synthetic inputs and batching.
//
// Conventions (the CLI's --data/--labels/--split/--normalize flags map onto these):
// - A FILE holds inputs only (.npy, IDX raw or .gz, torch.save'd tensor, ONNX TensorProto .pb);
//   labels, where needed, come from DatasetOptions::labels_path and must be 1-D integer.
// - A DIRECTORY holds inputs and labels side by side: `inputs.npy` + `labels.npy`, or IDX pairs
//   `<split>-images-idx3-ubyte[.gz]` + `<split>-labels-idx1-ubyte[.gz]`. When it holds several
//   IDX pairs (train and t10k, as Debian's /usr/share/datasets/fashion-mnist does), the split
//   ("train", or "test" == "t10k") picks one, defaulting to DatasetOptions::default_split.
// - A DIRECTORY of `input_0.npy`, `input_1.npy`, ... (or `.pb`, as ONNX's test_data_set_* folders
//   hold them) feeds a multi-input model, one file per input in forward()'s order, rows aligned;
//   an optional `labels.npy` beside them holds labels. Beside an input_0 of one sample, the others
//   may have any shape (fed whole: a state, a scalar; see row_count).
// - uint8 inputs become float32 in [0,1]; float64/float16 inputs become float32 (models are fed
//   float32; reduced precision is a pass's job, not the data's). Integer inputs (token ids) stay.
// - IDX images [N,H,W] become [N,1,H,W]: the channel dim CNNs expect (IDX stores no channels).
// - mean/std normalize float inputs: one value for every channel, or one per channel (dim 1).
// - Labels become int64 [N]; class ids must be >= 0.
// - Bad data is invalid_input (exit 4) naming the file; bad option values are usage_error (exit 2).
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mopt {

/// Inputs [N, ...] with optional labels [N] (int64), ready to feed to a model.
struct Dataset {
  torch::Tensor inputs;
  std::vector<torch::Tensor> more_inputs;  // a multi-input model's 2nd, 3rd... inputs, rows aligned with `inputs`
  torch::Tensor labels;  // undefined when the dataset has no labels
  std::string description;

  /// Number of samples (rows along dim 0; see row_count).
  int64_t size() const;
  /// True when labels were loaded.
  bool has_labels() const { return labels.defined(); }
  /// Every input, in forward()'s order: `inputs`, then `more_inputs`.
  std::vector<torch::Tensor> input_list() const;
  /// Rows [start, end) of every input (views).
  std::vector<torch::Tensor> input_rows(int64_t start, int64_t end) const;
  /// The first n samples (inputs, more_inputs and labels); all of them when n <= 0 or n >= size().
  Dataset head(int64_t n) const;
  /// The samples at `indices` (int64 row numbers), in that order: every input and the labels.
  Dataset rows(const torch::Tensor& indices) const;
};

/// How to read a dataset path; mirrors the CLI flags.
struct DatasetOptions {
  std::string split;                   // "", "train" or "test"; "" means default_split
  std::string default_split = "test";  // the split a subcommand picks when none is asked for
  std::filesystem::path labels_path;   // --labels, for a FILE dataset
  std::vector<double> mean, std;       // --normalize; each of size 0, 1 or C
};

/// Loads a dataset file or directory following the conventions above.
Dataset load_dataset(const std::filesystem::path& path, const DatasetOptions& options);

/// Parses "0.5,0.25" (finite numbers, comma separated); anything else is a usage_error.
std::vector<double> parse_number_list(const std::string& text);

/// One model input for synthetic data: "NAME:1x3x224x224:float32", "1x3x224x224", "x:1x784", and
/// "NAME::float32" for a scalar.
struct InputSpec {
  std::string name;
  std::vector<int64_t> shape;
  torch::ScalarType dtype = torch::kFloat;
};

/// Most elements a synthetic input may have (4 GiB of float32): a bigger shape is a typo, or a
/// model file declaring absurd input dims, and would otherwise fail deep inside an allocation.
inline constexpr int64_t kMaxSyntheticElements = int64_t{1} << 30;

/// Parses an --input spec; dtype is optional (float32, float64, float16, int64, int32, uint8).
InputSpec parse_input_spec(const std::string& text);

/// Parses one spec per model input, in forward()'s order, separated by ';' ("ids:1x16:int64;mask:1x16:int64").
/// A name may hold ':' as it is; a ';' or '\' in a name is written '\;' or '\\' (escape_input_name).
std::vector<InputSpec> parse_input_specs(const std::string& text);

/// An input name as parse_input_specs reads it back: ';' and '\' escaped with '\'.
std::string escape_input_name(const std::string& name);

/// Reproducible random input for a spec: floats ~ N(0,1), integers in [0,10); uses its own
/// generator so the global seed (and anyone relying on it) is left alone.
torch::Tensor synthetic_input(const InputSpec& spec, uint64_t seed);

/// The number of samples a list of model inputs holds: dim 0 of the first input that has one
/// (forward()'s first argument, the data, in the models this meets). An input whose dim 0 is
/// another size, or that has none, has no row axis and is fed whole to every batch: a scalar, an
/// RNN state [layers, B, H], a per-feature scale [F] beside x [1, F]. A list of scalars holds one
/// sample (0 when empty).
int64_t row_count(const std::vector<torch::Tensor>& inputs);

/// True when `input` has the row axis of a list holding `rows` samples.
bool has_row_axis(const torch::Tensor& input, int64_t rows);

/// Rows [start, end) of every input that has the row axis (views); the others as they are.
std::vector<torch::Tensor> slice_rows(const std::vector<torch::Tensor>& inputs, int64_t start, int64_t end);

/// Rows [index*batch_size, min(n, (index+1)*batch_size)) of t along dim 0 (a view, no copy).
torch::Tensor batch_slice(const torch::Tensor& t, int64_t index, int64_t batch_size);

/// batch_slice of every input of `data` (forward()'s arguments for one batch).
std::vector<torch::Tensor> batch_inputs_at(const Dataset& data, int64_t index, int64_t batch_size);

/// Number of batches covering n rows, the last one possibly short.
int64_t batch_count(int64_t n, int64_t batch_size);

}  // namespace mopt
