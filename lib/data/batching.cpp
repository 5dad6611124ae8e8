// Fixed-size batching along dim 0; the last batch is short rather than padded or dropped, so
// metrics over a dataset count every sample exactly once.
#include <fmt/format.h>

#include "lib/data/dataset.h"
#include "lib/errors.h"

namespace mopt {

int64_t batch_count(int64_t n, int64_t batch_size) {
  if (batch_size <= 0)
    throw usage_error(fmt::format("batch size must be positive, got {}", batch_size));
  if (n < 0) throw runtime_failure(fmt::format("batch_count: negative sample count {}", n));
  return (n + batch_size - 1) / batch_size;
}

torch::Tensor batch_slice(const torch::Tensor& t, int64_t index, int64_t batch_size) {
  if (!t.defined() || t.dim() == 0)
    throw runtime_failure("batch_slice: tensor has no batch dimension");
  int64_t n = t.size(0);
  int64_t count = batch_count(n, batch_size);
  if (index < 0 || index >= count)
    throw runtime_failure(fmt::format("batch_slice: batch {} out of range [0, {})", index, count));
  int64_t start = index * batch_size;
  return t.slice(0, start, std::min(n, start + batch_size));
}

int64_t row_count(const std::vector<torch::Tensor>& inputs) {
  for (const auto& input : inputs) {
    if (input.defined() && input.dim() > 0) return input.size(0);
  }
  return inputs.empty() ? 0 : 1;
}

bool has_row_axis(const torch::Tensor& input, int64_t rows) { return input.defined() && input.dim() > 0 && input.size(0) == rows; }

std::vector<torch::Tensor> slice_rows(const std::vector<torch::Tensor>& inputs, int64_t start, int64_t end) {
  const int64_t rows = row_count(inputs);
  std::vector<torch::Tensor> sliced;
  for (const auto& input : inputs) sliced.push_back(has_row_axis(input, rows) ? input.slice(0, start, std::min(rows, end)) : input);
  return sliced;
}

std::vector<torch::Tensor> batch_inputs_at(const Dataset& data, int64_t index, int64_t batch_size) {
  const int64_t count = batch_count(data.size(), batch_size);
  if (index < 0 || index >= count)
    throw runtime_failure(fmt::format("batch_inputs_at: batch {} out of range [0, {})", index, count));
  return slice_rows(data.input_list(), index * batch_size, (index + 1) * batch_size);
}

}  // namespace mopt
