// load_dataset: find the files (dataset_layout.cpp), read them (readers), then apply the
// conventions in dataset.h: float32 inputs, channel dim for IDX, normalization, int64 labels.
#include "lib/data/dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "lib/data/dataset_layout.h"
#include "lib/data/dtype_names.h"
#include "lib/data/readers.h"
#include "lib/errors.h"

namespace mopt {
namespace {

namespace fs = std::filesystem;
using data_detail::dtype_name;

std::string shape_text(torch::IntArrayRef sizes, const char* separator = "x") {
  return fmt::format("{}", fmt::join(sizes, separator));
}

// Flag-level checks that need no data, so a typo fails before a 50 MB read.
void check_options(const DatasetOptions& options) {
  for (const auto* split : {&options.split, &options.default_split})
    if (!split->empty() && *split != "train" && *split != "test")
      throw usage_error(fmt::format("unknown split '{}'; expected train or test", *split));
  if (options.mean.empty() != options.std.empty())
    throw usage_error("--normalize needs both MEAN and STD");
  for (double s : options.std)
    if (s == 0.0) throw usage_error("--normalize STD must not be zero");
}

void normalize(torch::Tensor& inputs, const DatasetOptions& options, const fs::path& path) {
  if (options.mean.empty()) return;
  if (!inputs.is_floating_point())
    throw usage_error(fmt::format("--normalize applies to float inputs, but {} holds {}",
                                  path.string(), dtype_name(inputs.scalar_type())));
  int64_t channels = inputs.size(1);
  auto as_tensor = [&](const std::vector<double>& values, const char* what) {
    auto count = static_cast<int64_t>(values.size());
    if (count != 1 && count != channels)
      throw usage_error(
          fmt::format("--normalize {} has {} values; expected 1 or {} (one per "
                      "channel of {}, whose samples are {})",
                      what, count, channels, path.string(), shape_text(inputs.sizes().slice(1))));
    std::vector<int64_t> shape(static_cast<size_t>(inputs.dim()), 1);
    shape[1] = count;
    return torch::tensor(values, torch::kDouble).to(torch::kFloat).view(shape);
  };
  auto mean = as_tensor(options.mean, "MEAN");
  auto deviation = as_tensor(options.std, "STD");
  inputs = (inputs - mean) / deviation;
}

// `whole`: an input fed whole to every batch (no sample dimension to check).
torch::Tensor prepare_inputs(torch::Tensor raw, const data_detail::DatasetFiles& files,
                             const DatasetOptions& options, std::string& conversion, bool whole = false) {
  const auto& path = files.inputs;
  if (!whole && raw.dim() < 2)
    throw invalid_input(
        fmt::format("{}: inputs have shape [{}]; expected [N, ...] with the "
                    "sample dimension first (rank >= 2)",
                    path.string(), shape_text(raw.sizes(), ", ")));
  if (!whole && raw.size(0) == 0)
    throw invalid_input(fmt::format("{}: holds no samples (shape [{}])", path.string(),
                                    shape_text(raw.sizes(), ", ")));
  // IDX stores no channel dim; CNNs expect [N, C, H, W].
  if (files.idx && raw.dim() == 3 && !whole) raw = raw.unsqueeze(1);

  torch::Tensor inputs;
  switch (raw.scalar_type()) {
    case torch::kByte:
      inputs = raw.to(torch::kFloat).div_(255.0);
      break;
    case torch::kFloat:
    case torch::kDouble:
    case torch::kHalf:
      inputs = raw.to(torch::kFloat);
      break;
    case torch::kLong:
    case torch::kInt:  // token ids and the like: an embedding needs them as integers
      inputs = raw;
      break;
    default:
      throw invalid_input(
          fmt::format("{}: inputs have dtype {}; expected uint8 (images), "
                      "float32/float64/float16, or int64/int32 (ids)",
                      path.string(), dtype_name(raw.scalar_type())));
  }
  conversion = dtype_name(raw.scalar_type());
  if (inputs.scalar_type() != raw.scalar_type())
    conversion += "->" + dtype_name(inputs.scalar_type());
  normalize(inputs, options, path);
  if (!options.mean.empty())
    conversion += fmt::format(" normalized (mean {}, std {})", fmt::join(options.mean, ","),
                              fmt::join(options.std, ","));
  return inputs.contiguous();
}

torch::Tensor prepare_labels(const torch::Tensor& raw, const fs::path& path, int64_t samples,
                             const fs::path& inputs_path) {
  if (!c10::isIntegralType(raw.scalar_type(), /*includeBool=*/false))
    throw invalid_input(
        fmt::format("{}: labels have dtype {}; expected integer class ids "
                    "(int64, int32, uint8, ...)",
                    path.string(), dtype_name(raw.scalar_type())));
  bool column = raw.dim() == 2 && raw.size(1) == 1;  // [N,1] is how some tools save a vector
  if (raw.dim() != 1 && !column)
    throw invalid_input(fmt::format("{}: labels have shape [{}]; expected 1-D [N]", path.string(),
                                    shape_text(raw.sizes(), ", ")));
  auto labels = raw.reshape({-1}).to(torch::kLong).contiguous();
  if (labels.size(0) != samples)
    throw invalid_input(fmt::format("{}: has {} labels but {} has {} samples", path.string(),
                                    labels.size(0), inputs_path.string(), samples));
  if (labels.numel() > 0 && labels.min().item<int64_t>() < 0)
    throw invalid_input(fmt::format("{}: has negative class ids; expected 0..C-1", path.string()));
  // No classifier has 2^31 classes; such an id is a corrupt file (and would overflow C = max + 1).
  constexpr int64_t kMaxClassId = std::numeric_limits<int32_t>::max() - 1;
  if (labels.numel() > 0 && labels.max().item<int64_t>() > kMaxClassId)
    throw invalid_input(fmt::format("{}: has class id {}; expected 0..C-1 with C below 2^31", path.string(),
                                    labels.max().item<int64_t>()));
  return labels;
}

}  // namespace

std::vector<torch::Tensor> Dataset::input_list() const {
  std::vector<torch::Tensor> all{inputs};
  all.insert(all.end(), more_inputs.begin(), more_inputs.end());
  return all;
}

int64_t Dataset::size() const { return inputs.defined() ? row_count(input_list()) : 0; }

std::vector<torch::Tensor> Dataset::input_rows(int64_t start, int64_t end) const { return slice_rows(input_list(), start, end); }

Dataset Dataset::head(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  Dataset first = *this;
  auto rows = input_rows(0, n);
  first.inputs = rows.front();
  first.more_inputs.assign(rows.begin() + 1, rows.end());
  if (has_labels()) first.labels = labels.slice(0, 0, n);
  first.description += fmt::format(" (first {})", n);
  return first;
}

Dataset Dataset::rows(const torch::Tensor& indices) const {
  Dataset picked;
  const int64_t n = size();
  auto pick = [&](const torch::Tensor& input) { return has_row_axis(input, n) ? input.index_select(0, indices) : input; };
  picked.inputs = pick(inputs);
  for (const auto& more : more_inputs) picked.more_inputs.push_back(pick(more));
  if (has_labels()) picked.labels = labels.index_select(0, indices);
  picked.description = fmt::format("{} of {} rows", indices.size(0), size());
  return picked;
}

Dataset load_dataset(const fs::path& path, const DatasetOptions& options) {
  check_options(options);
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw invalid_input(fmt::format("{}: dataset not found", path.string()));

  data_detail::DatasetFiles files;
  std::string name;
  if (fs::is_directory(path, ec)) {
    if (!options.labels_path.empty())
      throw usage_error(
          fmt::format("--labels is for a dataset file; the directory {} holds its "
                      "own labels",
                      path.string()));
    bool explicit_split = !options.split.empty();
    std::string split = explicit_split ? options.split : options.default_split;
    if (split.empty()) split = "test";
    files = data_detail::find_directory_pair(path, split, explicit_split);
    name = fs::absolute(path).lexically_normal().filename().string();
    if (name.empty())
      name = fs::absolute(path).lexically_normal().parent_path().filename().string();
  } else {
    if (!options.split.empty())
      throw usage_error(
          fmt::format("--split picks a pair in a dataset directory; {} is a file", path.string()));
    files.inputs = path;
    files.labels = options.labels_path;
    files.idx = detect_tensor_format(path) == TensorFileFormat::kIdx;
    name = path.filename().string();
  }

  Dataset dataset;
  std::string conversion;
  if (!files.more_inputs.empty() && !options.mean.empty())
    throw usage_error(fmt::format("--normalize applies to a single-input dataset; {} holds {} inputs (normalize "
                                  "them when writing the files)", path.string(), files.more_inputs.size() + 1));
  dataset.inputs = prepare_inputs(read_tensor_file(files.inputs), files, options, conversion);
  for (const auto& more : files.more_inputs) {
    std::string more_conversion;
    data_detail::DatasetFiles one{more, {}, "", false, {}};
    auto raw = read_tensor_file(more);
    // Beside a single sample, an input of another shape is fed whole (a state, a scalar): see row_count.
    const bool whole = dataset.inputs.size(0) == 1 && (raw.dim() < 2 || raw.size(0) != 1);
    dataset.more_inputs.push_back(prepare_inputs(raw, one, options, more_conversion, whole));
    if (whole) {
      conversion += " + " + shape_text(raw.sizes()) + " " + more_conversion + " (whole)";
      continue;
    }
    if (dataset.more_inputs.back().size(0) != dataset.inputs.size(0))
      throw invalid_input(fmt::format("{}: has {} samples but {} has {}; the inputs of one dataset are aligned row by row",
                                      more.string(), dataset.more_inputs.back().size(0), files.inputs.string(),
                                      dataset.inputs.size(0)));
    conversion += " + " + shape_text(dataset.more_inputs.back().sizes().slice(1)) + " " + more_conversion;
  }
  std::string labels_text = "no labels";
  if (!files.labels.empty()) {
    dataset.labels = prepare_labels(read_tensor_file(files.labels), files.labels,
                                    dataset.inputs.size(0), files.inputs);
    labels_text = fmt::format("labels {} classes", dataset.labels.max().item<int64_t>() + 1);
  }
  dataset.description = fmt::format(
      "{}{}: {} x {} {}, {}", name, files.split.empty() ? "" : " " + files.split + " split",
      dataset.inputs.size(0), shape_text(dataset.inputs.sizes().slice(1)), conversion, labels_text);
  return dataset;
}

}  // namespace mopt
