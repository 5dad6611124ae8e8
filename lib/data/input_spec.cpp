// Flag-text parsing for --input specs and --normalize lists, and seeded synthetic inputs for
// models run without a dataset (bench, calibration smoke runs).
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "lib/data/dataset.h"
#include "lib/data/dtype_names.h"
#include "lib/errors.h"
#include "lib/util/checked_size.h"
#include "lib/util/strings.h"

namespace mopt {
namespace {

// "1x3x224x224" -> {1,3,224,224}; false on anything but positive integers joined by 'x'.
bool parse_shape(const std::string& text, std::vector<int64_t>& shape) {
  shape.clear();
  if (text.empty()) return false;
  for (const auto& part : split(text, 'x')) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) return false;
    errno = 0;
    long long dim = std::strtoll(part.c_str(), nullptr, 10);
    if (errno != 0 || dim <= 0) return false;
    shape.push_back(dim);
  }
  return true;
}

}  // namespace

std::vector<double> parse_number_list(const std::string& text) {
  std::vector<double> values;
  for (const auto& raw : split(text, ',')) {
    auto part = trim(raw);
    char* end = nullptr;
    errno = 0;
    double value = part.empty() ? 0.0 : std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || errno != 0 || !std::isfinite(value))
      throw usage_error(
          fmt::format("'{}' is not a list of numbers like 0.5 or "
                      "0.485,0.456,0.406 ({})",
                      text, part.empty() ? "empty item" : "'" + part + "' is not a finite number"));
    values.push_back(value);
  }
  return values;
}

InputSpec parse_input_spec(const std::string& text) {
  auto fail = [&](const std::string& why) {
    return usage_error(
        fmt::format("bad input spec '{}': {}; expected [NAME:]SHAPE[:DTYPE] like "
                    "x:1x3x224x224:float32 (dtypes: float32, float64, float16, "
                    "int64, int32, uint8)",
                    text, why));
  };
  // Read from the right, [NAME:]SHAPE[:DTYPE]: the name is everything before the shape, so it may
  // hold ':' itself (PyTorch's exporter names inputs like "onnx::Flatten_0").
  auto parts = split(text, ':');
  InputSpec spec;
  std::vector<int64_t> ignored;
  const bool typed = parts.size() >= 2 && !parse_shape(parts.back(), ignored) &&
                     (data_detail::parse_dtype_name(parts.back()) || parse_shape(parts[parts.size() - 2], ignored));
  const size_t shape_at = parts.size() - (typed ? 2 : 1);
  const auto& shape_text = parts[shape_at];
  const bool scalar = typed && shape_at > 0 && shape_text.empty();  // NAME::DTYPE, as a rank-0 input prints
  if (!scalar && !parse_shape(shape_text, spec.shape))
    throw fail(fmt::format("shape '{}' is not positive integers joined by 'x'", shape_text));
  if (shape_at > 0) {
    std::vector<std::string> name(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(shape_at));
    spec.name = fmt::format("{}", fmt::join(name, ":"));
    if (spec.name.empty()) throw fail("empty name");
  }
  auto elements = checked_byte_count(spec.shape);
  if (!elements || *elements > kMaxSyntheticElements)
    throw fail(fmt::format("shape '{}' has more than {} elements", shape_text, kMaxSyntheticElements));
  if (typed) {
    auto dtype = data_detail::parse_dtype_name(parts.back());
    if (!dtype) throw fail(fmt::format("unknown dtype '{}'", parts.back()));
    spec.dtype = *dtype;
  }
  return spec;
}

std::vector<InputSpec> parse_input_specs(const std::string& text) {
  // ';' separates specs; '\;' and '\\' are a ';' and a '\' inside a name (escape_input_name).
  std::vector<InputSpec> specs;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == ';' || text[i + 1] == '\\')) {
      current += text[++i];
    } else if (text[i] == ';') {
      specs.push_back(parse_input_spec(current));
      current.clear();
    } else {
      current += text[i];
    }
  }
  specs.push_back(parse_input_spec(current));
  return specs;
}

std::string escape_input_name(const std::string& name) {
  std::string escaped;
  for (char ch : name) {
    if (ch == ';' || ch == '\\') escaped += '\\';
    escaped += ch;
  }
  return escaped;
}

torch::Tensor synthetic_input(const InputSpec& spec, uint64_t seed) {
  // A private generator: reseeding the global one would change every later random draw.
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = torch::TensorOptions().dtype(spec.dtype);
  if (c10::isFloatingType(spec.dtype)) {
    // Draw in float32 and cast, so float16/float64 inputs hold the same values as float32 ones.
    return torch::randn(spec.shape, generator, torch::kFloat).to(spec.dtype);
  }
  return torch::randint(0, spec.dtype == torch::kBool ? 2 : 10, spec.shape, generator, options);
}

}  // namespace mopt
