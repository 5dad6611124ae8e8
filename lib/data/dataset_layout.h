#pragma once
// Where a dataset's inputs and labels live: one file, or a directory of side-by-side pairs.
#include <filesystem>
#include <string>
#include <vector>

namespace mopt::data_detail {

/// The files chosen for one dataset and the split they hold.
struct DatasetFiles {
  std::filesystem::path inputs;
  std::filesystem::path labels;  // empty when the dataset has no labels
  std::string split;             // "train", "test", or "" when the files do not say
  bool idx = false;              // IDX images, which get a channel dim added
  std::vector<std::filesystem::path> more_inputs;  // input_1, input_2... of a multi-input folder
};

/// Picks the inputs/labels pair in dir for the requested split ("train" or "test"); explicit
/// is true when the user asked for that split rather than taking the subcommand's default.
DatasetFiles find_directory_pair(const std::filesystem::path& dir, const std::string& split,
                                 bool explicit_split);

}  // namespace mopt::data_detail
