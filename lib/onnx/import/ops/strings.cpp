// String tensors: StringNormalizer (opset 10), Equal on strings (19), StringConcat, StringSplit and
// RegexFullMatch (20).
//
// LibTorch has no string tensors, so the imported module holds one as a TorchScript
// Tuple[List[str], List[int]]: its strings in row-major order and its shape (kStringTensor). Graph
// inputs and outputs of type STRING take and give that pair. RegexFullMatch runs RE2, the syntax ONNX
// defines it by, in time linear in the text (std::regex backtracks exponentially and overflows the
// stack on long texts), through the custom op mopt::regex_full_match: a file saved with it loads where
// mopt's library is loaded.
#include <fmt/format.h>
#include <torch/library.h>

#include <re2/re2.h>

#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/ops/strings.h"

namespace mopt::onnx_import {
namespace {

c10::List<bool> regex_full_match(const c10::List<std::string>& strings, const std::string& pattern) {
  const RE2 expression(pattern, RE2::Quiet);
  TORCH_CHECK(expression.ok(), "RegexFullMatch pattern '", pattern, "': ", expression.error());
  c10::List<bool> matches;
  matches.reserve(strings.size());
  for (const std::string& text : strings) matches.push_back(RE2::FullMatch(text, expression));
  return matches;
}

void require_strings(NodeContext& c, int input) {
  if (c.input_elem_type(input) != onnx::TensorProto::STRING) {
    c.fail(fmt::format("input {} is not a string tensor", input));
  }
}

void convert_string_concat(NodeContext& c) {
  require_strings(c, 0);
  require_strings(c, 1);
  c.assign(0, fmt::format("{}({}, {})", c.helper("_string_concat"), c.input(0), c.input(1)));
}

void convert_string_split(NodeContext& c) {
  require_strings(c, 0);
  // An empty or absent delimiter splits on runs of whitespace, as Python's str.split().
  const auto delimiter = c.attr_string("delimiter", "");
  const auto max_splits = c.attr_int("maxsplit", -1);
  const auto parts = c.temp();
  c.emit(fmt::format("{} = {}({}, {}, {})", parts, c.helper("_string_split"), c.input(0),
                     delimiter.empty() ? "None" : c.add_value(delimiter, "delimiter"), max_splits));
  c.assign(0, fmt::format("{}[0]", parts));
  if (c.output_count() > 1) c.assign(1, fmt::format("{}[1]", parts));
}

void convert_string_normalizer(NodeContext& c) {
  require_strings(c, 0);
  const auto rank = c.input_rank(0);
  const auto dims = c.input_dims(0);
  c.require(rank && (*rank == 1 || (*rank == 2 && dims && (*dims)[0] == 1)), "StringNormalizer on inputs other than [C] or [1, C]");
  const auto action = c.attr_string("case_change_action", "NONE");
  c.require(action == "NONE" || action == "LOWER" || action == "UPPER", "StringNormalizer case_change_action " + action);
  c10::List<std::string> stopwords;
  if (const auto* attribute = c.attribute("stopwords")) {
    for (const auto& word : attribute->strings()) stopwords.push_back(word);
  }
  c.assign(0, fmt::format("{}({}, {}, {}, {})", c.helper("_string_normalize"), c.input(0),
                          action == "LOWER" ? 1 : action == "UPPER" ? 2 : 0,
                          c.attr_int("is_case_sensitive", 0) != 0 ? "True" : "False", c.add_value(stopwords, "stopwords")));
}

void convert_regex_full_match(NodeContext& c) {
  require_strings(c, 0);
  const auto pattern = c.attr_string("pattern", "");
  const RE2 expression(pattern, RE2::Quiet);
  if (!expression.ok()) c.fail(fmt::format("pattern '{}' is not an RE2 regular expression: {}", pattern, expression.error()));
  const auto x = c.input(0);
  c.assign(0, fmt::format("torch.tensor(mopt.regex_full_match({0}[0], {1}), dtype=11).view({0}[1])  # 11: bool",
                          x, c.add_value(pattern, "pattern")));
}

}  // namespace

// A fragment: passes/quantize defines the `mopt` library itself.
TORCH_LIBRARY_FRAGMENT(mopt, m) { m.def("regex_full_match(str[] strings, str pattern) -> bool[]", &regex_full_match); }

void convert_string_equal(NodeContext& c) {
  require_strings(c, 1);
  c.assign(0, fmt::format("{}({}, {})", c.helper("_string_equal"), c.input(0), c.input(1)));
}

std::vector<ConverterEntry> string_converters() {
  return {
      {"", "StringConcat", 20, kMaxOpset, convert_string_concat},
      {"", "StringSplit", 20, kMaxOpset, convert_string_split},
      {"", "StringNormalizer", 10, kMaxOpset, convert_string_normalizer},
      {"", "RegexFullMatch", 20, kMaxOpset, convert_regex_full_match},
  };
}

}  // namespace mopt::onnx_import
