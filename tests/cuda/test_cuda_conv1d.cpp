// CUDA causal depthwise conv1d (+ SiLU): forward, backward and step against the CPU twin in f64. Lengths
// 1 ... 4095 (tiles of 8 partly filled; aligned rows take the vector path), kernel widths 1 ... 6, x as a channel slice
// of a wider (in_proj-like) buffer, with and without bias and initial state, f32 and bf16 activations,
// weight/bias gradients accumulating into non-zero buffers; NaN-poisoned outputs.
#include "kernels/conv1d.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

struct ConvCase {
  int64_t B, D, L, K;
};
// L = 1024 and 200 (multiples of 8, aligned rows) take the 16-byte tile path; the others the scalar one.
const ConvCase kCases[] = {{1, 3, 1, 4},  {2, 5, 3, 4},   {2, 64, 4095, 4}, {2, 16, 1024, 4},
                           {3, 7, 17, 2}, {1, 9, 100, 1}, {2, 6, 37, 6},    {2, 5, 200, 3}};

// x (B, D, L) as channels [D, 2D) of a (B, 2D, L) buffer on the GPU, like a slice of in_proj's output.
Tensor gpu_channel_slice(const Tensor& x) {
  const int64_t B = x.size(0), D = x.size(1), L = x.size(2);
  Tensor buf = gpu_poisoned({B, 2 * D, L}, x.dtype());
  Tensor v = buf.slice(1, D, 2 * D);
  v.copy_(x);
  return v;
}

TEST(CudaConv1d, ForwardBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const ConvCase& c : kCases)
      for (int variant = 0; variant < 4; ++variant) {  // bit 0: silu, bit 1: bias + init_state + sliced x
        const bool silu = variant & 1, full = variant & 2;
        Tensor x = rand_normal({c.B, c.D, c.L}, rng, 1.0, dt);
        Tensor w = rand_normal({c.D, c.K}, rng, 0.5), bias = rand_normal({c.D}, rng, 0.5);
        Tensor init = rand_normal({c.B, c.D, c.K - 1}, rng, 1.0, dt);
        Tensor xg = full ? gpu_channel_slice(x) : gpu(x);
        Tensor bg = full ? gpu(bias) : Tensor(), ig = full ? gpu(init) : Tensor();
        Tensor b64 = full ? host64(bias) : Tensor(), i64 = full ? host64(init) : Tensor();
        const std::string what = std::string(dtype_name(dt)) + " B " + std::to_string(c.B) + " D " +
                                 std::to_string(c.D) + " L " + std::to_string(c.L) + " K " + std::to_string(c.K) +
                                 " variant " + std::to_string(variant);
        // forward
        Tensor y = gpu_poisoned({c.B, c.D, c.L}, dt), y64 = Tensor::empty({c.B, c.D, c.L}, DType::f64);
        causal_conv1d_forward(xg, gpu(w), bg, ig, silu, y);
        cpu::causal_conv1d_forward(host64(x), host64(w), b64, i64, silu, y64);
        EXPECT_LT(max_rel_error(y, y64, kFloorSum), tol_for(dt)) << "y " << what;
        // backward
        Tensor dy = rand_normal({c.B, c.D, c.L}, rng, 1.0, dt);
        Tensor dw0 = rand_normal({c.D, c.K}, rng), db0 = rand_normal({c.D}, rng);
        Tensor dx = full ? gpu_channel_slice(Tensor::zeros({c.B, c.D, c.L}, dt)) : gpu_poisoned({c.B, c.D, c.L}, dt);
        if (full) poison(dx);
        Tensor dw = gpu(dw0), db = full ? gpu(db0) : Tensor();
        causal_conv1d_backward(xg, gpu(w), bg, ig, silu, full ? gpu_channel_slice(dy) : gpu(dy), dx, dw, db);
        Tensor dx64 = Tensor::empty({c.B, c.D, c.L}, DType::f64), dw64 = host64(dw0), db64 = full ? host64(db0) : Tensor();
        cpu::causal_conv1d_backward(host64(x), host64(w), b64, i64, silu, host64(dy), dx64, dw64, db64);
        EXPECT_LT(max_rel_error(dx, dx64, kFloorSum), tol_for(dt)) << "dx " << what;
        EXPECT_LT(max_rel_error(dw, dw64, kFloorReduction), kTolF32) << "dweight " << what;
        if (full) {
          EXPECT_LT(max_rel_error(db, db64, kFloorReduction), kTolF32) << "dbias " << what;
        }
      }
}

TEST(CudaConv1d, StepMatchesCpuAndContinuesTheSequence) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t K : {4, 1, 6})
      for (bool silu : {false, true}) {
        const int64_t B = 3, D = 37, steps = 5;
        Tensor w = rand_normal({D, K}, rng, 0.5), bias = rand_normal({D}, rng, 0.5);
        Tensor state0 = rand_normal({B, D, K - 1}, rng, 1.0, dt);
        Tensor st = gpu(state0), st64 = host64(state0);
        Tensor seq = rand_normal({B, D, steps}, rng, 1.0, dt);
        for (int64_t t = 0; t < steps; ++t) {
          Tensor xt = seq.select(2, t).contiguous();
          Tensor y = gpu_poisoned({B, D}, dt), y64 = Tensor::empty({B, D}, DType::f64);
          causal_conv1d_step(st, gpu(xt), gpu(w), gpu(bias), silu, y);
          cpu::causal_conv1d_step(st64, host64(xt), host64(w), host64(bias), silu, y64);
          const std::string what = std::string(dtype_name(dt)) + " K " + std::to_string(K) + " silu " +
                                   std::to_string(silu) + " step " + std::to_string(t);
          EXPECT_LT(max_rel_error(y, y64, kFloorSum), tol_for(dt)) << "y " << what;
          if (K > 1) {
            EXPECT_EQ(max_rel_error(st, st64), 0.0) << "state " << what;  // a shift: exact
          }
        }
        // The steps continue a parallel forward: forward over the steps with init_state = state0 gives the
        // same outputs as the step sequence (checked on the last step against the GPU forward).
        Tensor yf = gpu_poisoned({B, D, steps}, dt);
        causal_conv1d_forward(gpu(seq), gpu(w), gpu(bias), K > 1 ? gpu(state0) : Tensor(), silu, yf);
        Tensor st2 = gpu(state0), y_last;
        for (int64_t t = 0; t < steps; ++t) {
          y_last = gpu_poisoned({B, D}, dt);
          causal_conv1d_step(st2, gpu(seq.select(2, t).contiguous()), gpu(w), gpu(bias), silu, y_last);
        }
        EXPECT_LT(max_rel_error(y_last, yf.select(2, steps - 1), kFloorSum), tol_for(dt)) << "K " << K;
      }
}

}  // namespace
}  // namespace ms
