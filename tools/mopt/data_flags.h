#pragma once
// The dataset flags shared by subcommands that run a model: one path (--data) or synthetic inputs.
#include <CLI/CLI.hpp>

#include "lib/data/dataset.h"

namespace mopt::cli {

struct DataArgs {
  std::string data;
  std::string labels;
  std::string split;
  std::string normalize;  ///< "MEAN,STD" or "M1,M2,M3;S1,S2,S3"
  std::string input_shape;
  int64_t samples = 0;  ///< 0 = all
  uint64_t seed = 0;
};

/// Adds --data, --labels, --split, --normalize, --input-shape, --samples, --seed.
void add_data_flags(CLI::App& command, DataArgs& args);

/// True when the user gave --data or --input-shape.
bool has_data(const DataArgs& args);

/// For an ONNX model given neither --data nor --input-shape: the graph's declared input as the
/// synthetic-input spec (a usage error names the dynamic dims it cannot fill in).
DataArgs with_graph_input(DataArgs args, const std::string& model_path);

/// Loads --data (or makes seeded synthetic inputs from --input-shape) and keeps --samples rows.
Dataset load_data(const DataArgs& args, const std::string& default_split);

/// Loads one dataset path given by a command's own flags (--calib, --train, --eval-data, ...); a
/// folder of input_0.npy, input_1.npy, ... feeds a multi-input model.
Dataset load_data_path(const std::string& path, const std::string& labels, const std::string& default_split,
                       int64_t samples, const std::string& normalize);

}  // namespace mopt::cli
