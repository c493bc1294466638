// The step-mode ops are capturable in a CUDA graph (no host synchronization, no allocation, one stream):
// a toy one-token step (embedding, RMSNorm, GEMMs, conv step + SiLU, residual add, tied head, sampling that
// feeds the next token back) is captured once and replayed; tokens and conv state must equal the eager run
// bit for bit.
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/sampling.h"
#include "tests/cuda/cuda_test_util.h"

#if MAMBASEQ_WITH_CUDA
#include <cuda_runtime.h>

namespace ms::cuda {
cudaStream_t stream();  // kernels/cuda/memory.cu: the stream every op runs on
}
#endif

namespace ms {
namespace {

using namespace ms::test;

TEST(CudaGraph, StepOpsCaptureAndReplay) {
  MS_SKIP_WITHOUT_GPU();
#if MAMBASEQ_WITH_CUDA
  Rng rng(test_seed());
  const int64_t B = 4, V = 300, E = 64, Dn = 128, K = 4, steps = 3;
  Tensor emb = gpu(rand_normal({V, E}, rng, 0.5)), norm_w = gpu(rand_uniform({E}, rng, 0.5, 1.5));
  Tensor in_w = gpu(rand_normal({Dn, E}, rng, 0.2)), out_w = gpu(rand_normal({E, Dn}, rng, 0.2));
  Tensor conv_w = gpu(rand_normal({Dn, K}, rng, 0.5)), conv_b = gpu(rand_normal({Dn}, rng, 0.1));
  const Tensor state0 = rand_normal({B, Dn, K - 1}, rng), ids0 = rand_ints({B}, rng, 0, V);
  Tensor ids = gpu(ids0), state = gpu(state0);
  Tensor x = Tensor::empty({B, E}, DType::f32, Device::cuda), h = Tensor::empty({B, E}, DType::f32, Device::cuda);
  Tensor rstd = Tensor::empty({B}, DType::f32, Device::cuda), u = Tensor::empty({B, Dn}, DType::f32, Device::cuda);
  Tensor y = Tensor::empty({B, Dn}, DType::f32, Device::cuda), o = Tensor::empty({B, E}, DType::f32, Device::cuda);
  Tensor logits = Tensor::empty({B, V}, DType::f32, Device::cuda);
  SamplingParams sp;
  sp.temperature = 1.0;
  sp.top_k = 20;
  sp.top_p = 0.9;
  auto step = [&] {
    embedding_forward(emb, ids, x);
    rmsnorm_forward(x, Tensor(), norm_w, 1e-5, Tensor(), h, rstd);
    gemm(h, false, in_w, true, u);
    causal_conv1d_step(state, u, conv_w, conv_b, true, y);
    gemm(y, false, out_w, true, o);
    add(o, x, o);
    gemm(o, false, emb, true, logits);
    sample_tokens(logits, sp, 1234, 7, ids);
  };

  std::vector<Tensor> eager_tokens;
  for (int64_t s = 0; s < steps; ++s) {
    step();
    eager_tokens.push_back(ids.to(Device::cpu));
  }
  const Tensor eager_state = state.to(Device::cpu);

  ids.copy_(ids0);
  state.copy_(state0);
  cudaStream_t st = ms::cuda::stream();
  ASSERT_EQ(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal), cudaSuccess);
  step();
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st, &graph), cudaSuccess) << "an op synchronized or allocated during capture";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int64_t s = 0; s < steps; ++s) {
    ASSERT_EQ(cudaGraphLaunch(exec, st), cudaSuccess);
    const Tensor got = ids.to(Device::cpu);  // synchronizes the stream
    EXPECT_EQ(max_rel_error(got, eager_tokens[s]), 0.0) << "step " << s;
  }
  EXPECT_EQ(max_rel_error(state, eager_state), 0.0);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
#endif
}

}  // namespace
}  // namespace ms
