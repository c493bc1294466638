// Capture of a sequence of ops on the CUDA stream into a graph, replayed with one launch: step-mode
// generation runs ~50 small kernels per token, and launching them one by one costs more than running them.
// The captured work must not synchronize with the host or allocate (the step path's ops do neither), and
// replays read and write the same tensors it captured (their storage must stay alive and in place).
#pragma once
#include <functional>
#include <memory>

namespace ms {

struct CudaGraph {
  struct Impl;
  std::shared_ptr<Impl> impl;
  bool captured() const { return impl != nullptr; }
};

// Runs `work` once under stream capture and returns the instantiated graph (CUDA builds only; an error
// naming the failing call when the work cannot be captured).
CudaGraph capture_cuda_graph(const std::function<void()>& work);
// Launches the graph on the op stream (asynchronously, like any op).
void replay_cuda_graph(const CudaGraph& g);

}  // namespace ms
