// CPU-only builds: graphs do not exist; callers check cuda_built() first.
#include "kernels/cuda_graph.h"

#include "kernels/check.h"

#if !MAMBASEQ_WITH_CUDA
namespace ms {
struct CudaGraph::Impl {};
CudaGraph capture_cuda_graph(const std::function<void()>&) {
  MS_FAIL("CUDA graphs need the CUDA backend (rebuild with -DMAMBASEQ_CUDA=ON)");
}
void replay_cuda_graph(const CudaGraph&) { MS_FAIL("CUDA graphs need the CUDA backend"); }
}  // namespace ms
#endif
