// Reader for tensors written by Python's torch.save (zip format, PyTorch >= 1.6) or C++'s
// torch::pickle_save; both are a zip archive holding data.pkl plus one record per storage.
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "lib/data/file_io.h"
#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/util/zip_check.h"

namespace mopt {
namespace {

torch::Tensor first_tensor(const c10::IValue& value, const std::filesystem::path& path) {
  if (value.isTensor()) return value.toTensor();
  if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements())
      if (element.isTensor()) return element.toTensor();
  } else if (value.isList()) {
    for (const auto& element : value.toListRef())
      if (element.isTensor()) return element.toTensor();
  } else if (value.isGenericDict()) {
    // Dicts unpickle in insertion order, so "first" matches what Python's dict shows.
    for (const auto& entry : value.toGenericDict())
      if (entry.value().isTensor()) return entry.value().toTensor();
  }
  throw invalid_input(
      fmt::format("{}: torch.save file holds a {} with no tensor at the top "
                  "level; expected a tensor, or a tuple/list/dict of tensors",
                  path.string(), value.tagKind()));
}

}  // namespace

torch::Tensor read_torch_saved(const std::filesystem::path& path) {
  auto bytes = data_detail::read_file_bytes(path);
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && bytes[1] == 0x02)
    throw invalid_input(fmt::format(
        "{}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with "
        "torch.save(tensor, path) from PyTorch >= 1.6",
        path.string()));
  check_zip_bytes(bytes, path.string());  // LibTorch's zip reader trusts the offsets an archive declares
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw invalid_input(fmt::format("{}: cannot read as a torch.save file: {}", path.string(),
                                    short_torch_message(e.what())));
  } catch (const std::exception& e) {
    throw invalid_input(
        fmt::format("{}: cannot read as a torch.save file: {}", path.string(), e.what()));
  }
  auto tensor = first_tensor(value, path);
  if (tensor.is_quantized() || tensor.is_sparse())
    throw invalid_input(
        fmt::format("{}: quantized or sparse tensors are not supported as data", path.string()));
  return tensor.detach().contiguous();
}

}  // namespace mopt
