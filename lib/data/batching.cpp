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

std::vector<torch::Tensor> batch_inputs_at(const Dataset& data, int64_t index, int64_t batch_size) {
  std::vector<torch::Tensor> batch;
  for (const auto& input : data.input_list()) batch.push_back(batch_slice(input, index, batch_size));
  return batch;
}

}  // namespace mopt
