// Directory layout rules: `inputs.npy` + `labels.npy`, or IDX pairs named like MNIST's
// `<prefix>images-idx3-ubyte[.gz]` + `<prefix>labels-idx1-ubyte[.gz]`, where the prefix names the
// split ("train-", "t10k-" == test, "test-"); or a multi-input folder of `input_0.npy`, `input_1.npy`...
// (`.pb` too: ONNX's test_data_set_* folders) with an optional `labels.npy`.
#include "lib/data/dataset_layout.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "lib/errors.h"

namespace mopt::data_detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImagesSuffix = "images-idx3-ubyte";
constexpr const char* kLabelsSuffix = "labels-idx1-ubyte";

// "train-" -> "train", "t10k-" / "test_" -> "test", anything else -> "" (split unknown).
std::string split_of_prefix(std::string prefix) {
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '_' || prefix.back() == '.'))
    prefix.pop_back();
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (prefix == "train") return "train";
  if (prefix == "t10k" || prefix == "test") return "test";
  return "";
}

// The IDX prefix of a file named `<prefix><suffix>` or `<prefix><suffix>.gz`, if it is one.
bool idx_prefix(const std::string& name, const std::string& suffix, std::string& prefix) {
  for (const std::string& ending : {suffix, suffix + ".gz"}) {
    if (name.size() >= ending.size() &&
        name.compare(name.size() - ending.size(), ending.size(), ending) == 0) {
      prefix = name.substr(0, name.size() - ending.size());
      return true;
    }
  }
  return false;
}

// K when name is `input_K.npy` or `input_K.pb` (K decimal, no sign), else -1.
int numbered_input(const std::string& name) {
  const std::string stem = fs::path(name).stem().string(), ext = fs::path(name).extension().string();
  if ((ext != ".npy" && ext != ".pb") || stem.rfind("input_", 0) != 0 || stem.size() == 6 || stem.size() > 12) return -1;
  const auto digits = stem.substr(6);
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) return -1;
  return std::stoi(digits);
}

// input_0, input_1, ... in order: none missing, one file per index.
DatasetFiles numbered_inputs(const fs::path& dir, const std::map<int, std::vector<fs::path>>& numbered, bool has_labels) {
  DatasetFiles files;
  int expected = 0;
  for (const auto& [index, paths] : numbered) {
    if (index != expected)
      throw invalid_input(fmt::format("{}: has input_{} but no input_{}; a multi-input folder numbers its inputs from 0 "
                                      "in the model's order", dir.string(), index, expected));
    if (paths.size() > 1)
      throw invalid_input(fmt::format("{}: has several files for input {} ({} and {}); keep one", dir.string(), index,
                                      paths[0].filename().string(), paths[1].filename().string()));
    if (index == 0) {
      files.inputs = paths.front();
    } else {
      files.more_inputs.push_back(paths.front());
    }
    ++expected;
  }
  if (has_labels) files.labels = dir / "labels.npy";
  return files;
}

std::vector<DatasetFiles> list_pairs(const fs::path& dir) {
  std::map<std::string, fs::path> images, labels;  // by prefix; ordered for stable messages
  std::map<int, std::vector<fs::path>> numbered;   // input_K files by K
  bool has_inputs_npy = false, has_labels_npy = false;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    auto name = entry.path().filename().string();
    std::string prefix;
    if (name == "inputs.npy") has_inputs_npy = true;
    if (name == "labels.npy") has_labels_npy = true;
    if (int k = numbered_input(name); k >= 0) numbered[k].push_back(entry.path());
    // Prefer the uncompressed file when both exist: same data, no gunzip.
    if (idx_prefix(name, kImagesSuffix, prefix) &&
        (!images.count(prefix) || entry.path().extension() != ".gz"))
      images[prefix] = entry.path();
    if (idx_prefix(name, kLabelsSuffix, prefix) &&
        (!labels.count(prefix) || entry.path().extension() != ".gz"))
      labels[prefix] = entry.path();
  }
  if (ec)
    throw invalid_input(fmt::format("{}: cannot list directory: {}", dir.string(), ec.message()));

  std::vector<DatasetFiles> pairs;
  if (!numbered.empty()) {
    if (has_inputs_npy || !images.empty())
      throw invalid_input(fmt::format("{}: holds both input_K files and {}; one dataset per folder", dir.string(),
                                      has_inputs_npy ? "inputs.npy" : "IDX images"));
    return {numbered_inputs(dir, numbered, has_labels_npy)};
  }
  if (has_inputs_npy != has_labels_npy)
    throw invalid_input(fmt::format("{}: has {} but no {}; a dataset directory holds both",
                                    dir.string(), has_inputs_npy ? "inputs.npy" : "labels.npy",
                                    has_inputs_npy ? "labels.npy" : "inputs.npy"));
  if (has_inputs_npy) pairs.push_back({dir / "inputs.npy", dir / "labels.npy", "", false, {}});
  for (const auto& [prefix, image_path] : images) {
    auto label = labels.find(prefix);
    if (label == labels.end())
      throw invalid_input(fmt::format("{}: has no {}{}[.gz] to go with it", image_path.string(),
                                      prefix, kLabelsSuffix));
    pairs.push_back({image_path, label->second, split_of_prefix(prefix), true, {}});
  }
  for (const auto& [prefix, label_path] : labels)
    if (!images.count(prefix))
      throw invalid_input(fmt::format("{}: has no {}{}[.gz] to go with it", label_path.string(),
                                      prefix, kImagesSuffix));
  return pairs;
}

}  // namespace

DatasetFiles find_directory_pair(const fs::path& dir, const std::string& split,
                                 bool explicit_split) {
  auto pairs = list_pairs(dir);
  if (pairs.empty())
    throw invalid_input(fmt::format(
        "{}: no dataset found; expected inputs.npy + labels.npy, *{}[.gz] + *{}[.gz], or input_0.npy, input_1.npy...",
        dir.string(), kImagesSuffix, kLabelsSuffix));

  std::vector<std::string> found;
  for (const auto& pair : pairs)
    found.push_back(pair.split.empty() ? pair.inputs.filename().string() : pair.split);

  if (pairs.size() == 1) {
    const auto& only = pairs.front();
    // A lone pair is the dataset, whatever the subcommand's default split; but an explicit
    // --split must not silently get other data (calibrating on test data skews accuracy).
    if (explicit_split && only.split != split)
      throw invalid_input(fmt::format(
          "{}: asked for the {} split, but the directory holds only {}; drop --split or point "
          "at the right directory",
          dir.string(), split,
          only.split.empty() ? "one unsplit set (" + found.front() + ")"
                             : "the " + only.split + " split"));
    return only;
  }
  std::vector<DatasetFiles> matches;
  for (const auto& pair : pairs)
    if (pair.split == split) matches.push_back(pair);
  if (matches.size() != 1)
    throw invalid_input(
        fmt::format("{}: {} for the {} split among [{}]; expected exactly one "
                    "train and one test (t10k) pair",
                    dir.string(), matches.empty() ? "no pair" : "several pairs", split,
                    fmt::join(found, ", ")));
  return matches.front();
}

}  // namespace mopt::data_detail
