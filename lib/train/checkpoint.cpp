#include "lib/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/serialize.h>

#include "lib/errors.h"
#include "lib/util/atomic_file.h"

namespace mopt::train {
namespace {

constexpr const char* kFormatTag = "mopt-train-checkpoint-v1";

void write_snapshot(torch::serialize::OutputArchive& archive, const std::string& prefix, const WeightSnapshot& weights) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights) {
    archive.write(prefix + name, tensor, /*is_buffer=*/true);
    names.push_back(name);
  }
  archive.write(prefix + "names", c10::IValue(c10::List<std::string>(names)));
}

WeightSnapshot read_snapshot(torch::serialize::InputArchive& archive, const std::string& prefix) {
  c10::IValue names;
  archive.read(prefix + "names", names);
  WeightSnapshot weights;
  for (const auto& entry : names.toListRef()) {
    const auto& name = entry.toStringRef();
    torch::Tensor tensor;
    archive.read(prefix + name, tensor, /*is_buffer=*/true);
    weights[name] = tensor;
  }
  return weights;
}

}  // namespace

WeightSnapshot snapshot_weights(const torch::jit::Module& model) {
  WeightSnapshot weights;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) weights["param." + p.name] = p.value.detach().clone();
  for (const auto& b : model.named_buffers(/*recurse=*/true)) weights["buffer." + b.name] = b.value.detach().clone();
  return weights;
}

void restore_weights(torch::jit::Module& model, const WeightSnapshot& snapshot) {
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& key, torch::Tensor target) {
    auto it = snapshot.find(key);
    if (it == snapshot.end() || !it->second.sizes().equals(target.sizes())) {
      throw invalid_input(fmt::format("the checkpoint does not match this model ({} {})", key,
                                      it == snapshot.end() ? "is missing" : "has another shape"));
    }
    target.copy_(it->second);
  };
  for (const auto& p : model.named_parameters(true)) restore("param." + p.name, p.value);
  for (const auto& b : model.named_buffers(true)) restore("buffer." + b.name, b.value);
}

void save_checkpoint(const std::filesystem::path& path, const CheckpointContents& contents,
                     const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormatTag)));
  archive.write("loop_state", c10::IValue(contents.loop_state.dump()));
  write_snapshot(archive, "weights/", contents.weights);
  write_snapshot(archive, "best/", contents.best_weights);
  for (size_t i = 0; i < contents.extra_parameters.size(); ++i) {
    archive.write(fmt::format("extra/{}", i), contents.extra_parameters[i].detach(), /*is_buffer=*/true);
  }
  archive.write("rng_state", contents.rng_state, /*is_buffer=*/true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  write_atomically(path, [&](const std::filesystem::path& temp) { archive.save_to(temp.string()); });
}

CheckpointContents load_checkpoint(const std::filesystem::path& path, torch::optim::Optimizer& optimizer) {
  if (!std::filesystem::is_regular_file(path)) throw invalid_input(fmt::format("checkpoint '{}' does not exist", path.string()));
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    c10::IValue tag, loop_state;
    archive.read("format", tag);
    if (!tag.isString() || tag.toStringRef() != kFormatTag) throw invalid_input("not a mopt training checkpoint");
    CheckpointContents contents;
    archive.read("loop_state", loop_state);
    contents.loop_state = nlohmann::json::parse(loop_state.toStringRef());
    contents.weights = read_snapshot(archive, "weights/");
    contents.best_weights = read_snapshot(archive, "best/");
    const auto extras = contents.loop_state.value("extra_parameters", 0);
    for (int i = 0; i < extras; ++i) {
      torch::Tensor t;
      archive.read(fmt::format("extra/{}", i), t, /*is_buffer=*/true);
      contents.extra_parameters.push_back(t);
    }
    archive.read("rng_state", contents.rng_state, /*is_buffer=*/true);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    return contents;
  } catch (const Error& e) {
    throw invalid_input(fmt::format("cannot resume from '{}': {}", path.string(), e.what()));
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("cannot resume from '{}': {}", path.string(), short_torch_message(e.what())));
  }
}

torch::Tensor global_rng_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_global_rng_state(const torch::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace mopt::train
