// CUDA fused softmax cross-entropy against the CPU twin: vocabularies of 5 to 50257 (vectorized and scalar
// paths), row counts that leave blocks partly empty, row-strided logits, ignored rows, f32 and bf16 logits;
// pred must equal the CPU's arg-max exactly (lowest index on ties, frequent with bf16).
#include <cmath>

#include "kernels/cross_entropy.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

constexpr int kIgnore = -100;

struct CeCase {
  int64_t R, V;
};
const CeCase kCases[] = {{1, 5}, {67, 5}, {3, 1000}, {33, 1537}, {3, 50257}, {5, 4096}};

// Logits (R, V) on the GPU: contiguous, or a slice of a wider (R, V + 5) buffer.
Tensor gpu_logits(const Tensor& x, bool strided) {
  if (!strided) return gpu(x);
  Tensor buf = gpu_poisoned({x.size(0), x.size(1) + 5}, x.dtype());
  Tensor v = buf.slice(1, 1, 1 + x.size(1));
  v.copy_(x);
  return v;
}

TEST(CudaCrossEntropy, ForwardBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const CeCase& c : kCases)
      for (bool strided : {false, true}) {
        Tensor x = rand_normal({c.R, c.V}, rng, 3.0, dt);
        Tensor tgt = rand_ints({c.R}, rng, 0, c.V);
        int64_t valid = 0;
        for (int64_t r = 0; r < c.R; ++r) {
          if (r % 4 == 1) tgt.set_item(r, kIgnore);
          else ++valid;
        }
        const std::string what =
            std::string(dtype_name(dt)) + " R " + std::to_string(c.R) + " V " + std::to_string(c.V) + (strided ? " strided" : "");
        Tensor xg = gpu_logits(x, strided), tg = gpu(tgt);
        Tensor loss = gpu_poisoned({c.R}), lse = gpu_poisoned({c.R}), pred = gpu_poisoned({c.R}, DType::i32);
        cross_entropy_forward(xg, tg, kIgnore, loss, lse, pred);
        Tensor loss64 = Tensor::empty({c.R}, DType::f64), lse64 = Tensor::empty({c.R}, DType::f64);
        Tensor pred_cpu = Tensor::empty({c.R}, DType::i32);
        cpu::cross_entropy_forward(host64(x), tgt, kIgnore, loss64, lse64, pred_cpu);
        EXPECT_LT(max_rel_error(loss, loss64, kFloorSum), kTolF32) << "loss " << what;
        EXPECT_LT(max_rel_error(lse, lse64, kFloorSum), kTolF32) << "lse " << what;
        EXPECT_EQ(max_rel_error(pred, pred_cpu), 0.0) << "pred " << what;
        // backward from the GPU's lse (the CPU gets the same values)
        const double scale = 1.0 / static_cast<double>(std::max<int64_t>(valid, 1));
        Tensor dx = strided ? gpu_logits(Tensor::zeros({c.R, c.V}, dt), true) : gpu_poisoned({c.R, c.V}, dt);
        if (strided) poison(dx);
        cross_entropy_backward(xg, tg, kIgnore, lse, scale, dx);
        Tensor dx64 = Tensor::empty({c.R, c.V}, DType::f64);
        cpu::cross_entropy_backward(host64(x), tgt, kIgnore, host64(lse), scale, dx64);
        EXPECT_LT(max_rel_error(dx, dx64), tol_for(dt)) << "dlogits " << what;
      }
}

TEST(CudaCrossEntropy, InvalidTargetGivesNan) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  Tensor x = rand_normal({3, 10}, rng);
  Tensor tgt = Tensor::from<int32_t>({2, 10, kIgnore}, {3});
  Tensor loss = gpu_poisoned({3}), lse = gpu_poisoned({3});
  cross_entropy_forward(gpu(x), gpu(tgt), kIgnore, loss, lse, Tensor());
  Tensor h = loss.to(Device::cpu);
  EXPECT_TRUE(std::isfinite(h.item(0)));
  EXPECT_TRUE(std::isnan(h.item(1)));
  EXPECT_EQ(h.item(2), 0.0);
}

}  // namespace
}  // namespace ms
