#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda_graph.h"

namespace ms {

struct CudaGraph::Impl {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ~Impl() {
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
  }
};

CudaGraph capture_cuda_graph(const std::function<void()>& work) {
  auto impl = std::make_shared<CudaGraph::Impl>();
  cudaStream_t s = cuda::stream();
  MS_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  try {
    work();
  } catch (...) {
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(s, &g);  // leave the stream usable
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    throw;
  }
  MS_CUDA_CHECK(cudaStreamEndCapture(s, &impl->graph));
  MS_CUDA_CHECK(cudaGraphInstantiate(&impl->exec, impl->graph, 0));
  CudaGraph g;
  g.impl = impl;
  return g;
}

void replay_cuda_graph(const CudaGraph& g) {
  MS_CHECK(g.captured(), "replay_cuda_graph: nothing was captured");
  MS_CUDA_CHECK(cudaGraphLaunch(g.impl->exec, cuda::stream()));
}

}  // namespace ms
