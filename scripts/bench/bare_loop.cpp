// The reference for harness overhead: the same LibTorch call mopt bench times, in the barest loop
// (no mopt code), printing the median latency in ms. Used by scripts/bench/harness_overhead.sh.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: bare_loop MODEL.pt SHAPE(1x3x224x224) ITERATIONS THREADS\n");
    return 2;
  }
  at::set_num_threads(std::stoi(argv[4]));
  auto module = torch::jit::load(argv[1]);
  module.eval();
  std::vector<int64_t> shape;
  for (std::string dims = argv[2]; !dims.empty();) {
    auto x = dims.find('x');
    shape.push_back(std::stoll(dims.substr(0, x)));
    dims = x == std::string::npos ? "" : dims.substr(x + 1);
  }
  torch::Tensor input = torch::randn(shape);
  const int iterations = std::stoi(argv[3]);
  c10::InferenceMode guard;
  std::vector<torch::jit::IValue> inputs{input};
  for (int i = 0; i < 10; ++i) module.forward(inputs);
  std::vector<double> samples(static_cast<size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    module.forward(inputs);
    samples[static_cast<size_t>(i)] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  std::sort(samples.begin(), samples.end());
  std::printf("%.6f\n", samples[samples.size() / 2]);
  return 0;
}
