// libmopt_cuda_graphs.so: CUDA graphs behind LibTorch's device-generic at::accelerator::Graph.
// LibTorch 2.14 registers a graph implementation for XPU only; at::cuda::CUDAGraph exists but is not
// reachable through the generic API. mopt itself does not link the CUDA half of LibTorch (see
// lib/runtime/cuda.h), so this small library, built against the CUDA runtime's headers from the wheel's
// nvidia-cuda-runtime package, is loaded right after libtorch_cuda.so and registers the bridge.
#include <ATen/core/GraphImplInterface.h>
#include <ATen/cuda/CUDAGraph.h>

#include <memory>

namespace {

cudaStreamCaptureMode cuda_capture_mode(at::GraphCaptureMode mode) {
  switch (mode) {
    case at::GraphCaptureMode::ThreadLocal: return cudaStreamCaptureModeThreadLocal;
    case at::GraphCaptureMode::Relaxed: return cudaStreamCaptureModeRelaxed;
    case at::GraphCaptureMode::Default:
    case at::GraphCaptureMode::Global: break;
  }
  return cudaStreamCaptureModeGlobal;  // PyTorch's default for torch.cuda.graph
}

struct CudaGraphImpl final : at::GraphImplInterface {
  explicit CudaGraphImpl(const at::GraphImplArgs& args) : graph(std::make_unique<at::cuda::CUDAGraph>(args.keep_graph)) {}

  void capture_begin(at::MempoolId_t pool, at::GraphCaptureMode mode) override {
    graph->capture_begin(pool, cuda_capture_mode(mode));
  }
  void capture_end() override { graph->capture_end(); }
  void instantiate() override { graph->instantiate(); }
  void replay() override { graph->replay(); }
  void reset() override { graph->reset(); }
  at::MempoolId_t pool() const override { return graph->pool(); }
  void enable_debug_mode() override { graph->enable_debug_mode(); }
  void debug_dump(const std::string& /*path*/) override {
    TORCH_CHECK(false, "mopt's CUDA graph bridge does not dump graphs");  // mopt never asks for a dump
  }

  std::unique_ptr<at::cuda::CUDAGraph> graph;  // a pointer: CUDAGraph::pool() is not const
};

}  // namespace

namespace at {  // the registration macro names the registry unqualified
REGISTER_GRAPH_IMPL(CUDA, ::CudaGraphImpl);
}  // namespace at
