#include "tools/mopt/data_flags.h"

#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/util/log.h"

namespace mopt::cli {

void add_data_flags(CLI::App& command, DataArgs& args) {
  command.add_option("--data", args.data, "dataset: a tensor file, or a folder with inputs+labels (see docs/guide.md, Data)")->type_name("PATH");
  command.add_option("--labels", args.labels, "labels file for a --data file")->type_name("FILE");
  command.add_option("--split", args.split, "train or test, for folders holding both")->check(CLI::IsMember({"train", "test"}));
  command.add_option("--normalize", args.normalize, "MEAN,STD or per-channel M1,M2,M3/S1,S2,S3")->type_name("MEAN,STD");
  command.add_option("--input-shape", args.input_shape, "synthetic input [NAME:]SHAPE[:DTYPE], e.g. x:1x3x224x224:float32; several joined by ';'. "
                     "A scalar is NAME::DTYPE. A NAME may hold ':' (onnx::Flatten_0:1x25x96); write a ';' or '\\' in it as '\\;' or '\\\\'. "
                     "Quote the whole spec in the shell")->type_name("SPEC");
  command.add_option("--samples", args.samples, "use only the first N samples (0 = all)")->type_name("N")->check(CLI::NonNegativeNumber);
  command.add_option("--seed", args.seed, "seed for synthetic inputs")->type_name("N");
}

bool has_data(const DataArgs& args) { return !args.data.empty() || !args.input_shape.empty(); }

DataArgs with_graph_input(DataArgs args, const std::string& model_path) {
  if (has_data(args) || detect_format(model_path) != ModelFormat::kOnnx) return args;
  try {
    args.input_shape = graph_input_spec(load_onnx(model_path));
  } catch (const Error& e) {
    if (e.code() != ExitCode::kInvalidInput || std::string(e.what()).find(model_path) != std::string::npos) throw;
    throw invalid_input(fmt::format("{}: {}", model_path, e.what()));  // say which file declares it
  }
  log_info("input from the ONNX graph: {}", args.input_shape);
  return args;
}


Dataset load_data(const DataArgs& args, const std::string& default_split) {
  if (!args.data.empty() && !args.input_shape.empty()) throw usage_error("give --data or --input-shape, not both");
  Dataset dataset;
  if (!args.input_shape.empty()) {
    auto specs = parse_input_specs(args.input_shape);
    dataset.inputs = synthetic_input(specs[0], args.seed);
    // Each input draws from its own seed: equal shapes must not get equal values.
    for (size_t i = 1; i < specs.size(); ++i) dataset.more_inputs.push_back(synthetic_input(specs[i], args.seed + i));
    dataset.description = "synthetic " + args.input_shape;
    return dataset;
  }
  DatasetOptions options;
  options.split = args.split;
  options.default_split = default_split;
  options.labels_path = args.labels;
  if (!args.normalize.empty()) {
    // "MEAN,STD" for one channel, "M1,M2,M3/S1,S2,S3" per channel.
    auto slash = args.normalize.find('/');
    if (slash == std::string::npos) {
      auto values = parse_number_list(args.normalize);
      if (values.size() != 2) throw usage_error("--normalize takes MEAN,STD or M1,M2,.../S1,S2,...");
      options.mean = {values[0]};
      options.std = {values[1]};
    } else {
      options.mean = parse_number_list(args.normalize.substr(0, slash));
      options.std = parse_number_list(args.normalize.substr(slash + 1));
    }
  }
  dataset = load_dataset(args.data, options);
  return dataset.head(args.samples);
}

Dataset load_data_path(const std::string& path, const std::string& labels, const std::string& default_split,
                       int64_t samples, const std::string& normalize) {
  DataArgs data;
  data.data = path;
  data.labels = labels;
  data.samples = samples;
  data.normalize = normalize;
  return load_data(data, default_split);
}

}  // namespace mopt::cli
