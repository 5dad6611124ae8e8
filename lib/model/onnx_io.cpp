#include "lib/model/onnx_io.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "lib/errors.h"
#include "lib/util/atomic_file.h"

namespace mopt {
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid_input(fmt::format("cannot open '{}'", path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Resolves an external-data location against the model folder and refuses escapes
// ("../../etc/passwd", absolute paths, symlinks pointing outside).
fs::path resolve_external(const fs::path& model_dir, const std::string& location,
                          const fs::path& model_path) {
  fs::path relative(location);
  auto lexical = (model_dir / relative).lexically_normal();
  auto base = fs::weakly_canonical(model_dir);
  auto resolved = fs::weakly_canonical(lexical);
  auto [base_end, unused] = std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end());
  if (relative.is_absolute() || base_end != base.end()) {
    throw invalid_input(fmt::format(
        "'{}' references external data '{}' outside its folder; external data must sit next to "
        "the model",
        model_path.string(), location));
  }
  return resolved;
}

// An external_data offset or length: a non-negative decimal integer (ONNX writes them as strings).
int64_t external_number(const std::string& text, const char* key, const onnx::TensorProto& tensor,
                        const fs::path& model_path) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    throw invalid_input(fmt::format("{}: tensor '{}' has external data {} '{}'; expected a non-negative integer",
                                    model_path.string(), tensor.name(), key, text));
  }
  return value;
}

void internalize_tensor(onnx::TensorProto& tensor, const fs::path& model_dir, const fs::path& model_path) {
  if (tensor.data_location() != onnx::TensorProto::EXTERNAL) return;
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = external_number(entry.value(), "offset", tensor, model_path);
    if (entry.key() == "length") length = external_number(entry.value(), "length", tensor, model_path);
  }
  if (location.empty()) {
    throw invalid_input(fmt::format("{}: tensor '{}' is external but has no location", model_path.string(), tensor.name()));
  }
  // A path stops at a NUL: the file opened would not be the one the model names.
  if (location.find('\0') != std::string::npos) {
    throw invalid_input(fmt::format("{}: tensor '{}' has an external data location with a NUL byte",
                                    model_path.string(), tensor.name()));
  }
  auto file = resolve_external(model_dir, location, model_path);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw invalid_input(fmt::format("{}: external data file '{}' for tensor '{}' is missing", model_path.string(),
                                    file.string(), tensor.name()));
  }
  in.seekg(0, std::ios::end);
  int64_t file_size = in.tellg();
  if (length < 0) length = file_size - offset;
  if (file_size < 0 || offset > file_size || length < 0 || length > file_size - offset) {
    throw invalid_input(fmt::format("{}: external data '{}' is truncated: tensor '{}' needs {} bytes at offset {}, "
                                    "file has {}",
                                    model_path.string(), file.string(), tensor.name(), length, offset, file_size));
  }
  std::string data(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  tensor.set_raw_data(std::move(data));
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto::DEFAULT);
}

void internalize_graph(onnx::GraphProto& graph, const fs::path& model_dir, const fs::path& model_path) {
  for (auto& tensor : *graph.mutable_initializer()) internalize_tensor(tensor, model_dir, model_path);
  for (auto& node : *graph.mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_t()) internalize_tensor(*attr.mutable_t(), model_dir, model_path);
      if (attr.has_g()) internalize_graph(*attr.mutable_g(), model_dir, model_path);
      for (auto& sub : *attr.mutable_graphs()) internalize_graph(sub, model_dir, model_path);
    }
  }
}

}  // namespace

bool parse_onnx_bytes(const std::string& bytes, onnx::ModelProto& proto) {
  if (!proto.ParseFromString(bytes)) return false;
  // Random bytes occasionally parse as *some* protobuf; a model has an IR version and a graph.
  return proto.ir_version() > 0 && proto.has_graph();
}

onnx::ModelProto load_onnx(const fs::path& path) {
  onnx::ModelProto proto;
  if (!parse_onnx_bytes(read_all(path), proto)) {
    throw invalid_input(fmt::format("'{}' is not a valid ONNX model (protobuf parse failed)", path.string()));
  }
  auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  internalize_graph(*proto.mutable_graph(), dir, path);
  return proto;
}

void save_onnx(const onnx::ModelProto& proto, const fs::path& path) {
  if (proto.ByteSizeLong() > static_cast<size_t>(INT32_MAX)) {
    throw runtime_failure(fmt::format("ONNX model is over 2 GB; cannot write '{}' as one protobuf",
                                      path.string()));
  }
  write_atomically(path, [&](const fs::path& temp) {
    std::ofstream out(temp, std::ios::binary);
    if (!proto.SerializeToOstream(&out)) throw runtime_failure(fmt::format("failed to write '{}'", temp.string()));
    out.close();
    if (!out) throw runtime_failure(fmt::format("failed to write '{}'", temp.string()));
  });
}

}  // namespace mopt
