// CUDA loss_stats and ssm_a against their CPU twins: row counts that leave blocks partly empty, ignored
// rows, pred defined or not; real and complex A, the backward accumulating into non-zero gradients.
#include "kernels/loss_stats.h"
#include "kernels/ssm_a.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

TEST(CudaLossStats, MatchesCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  constexpr int kIgnore = -100;
  for (int64_t R : {1, 7, 1000, 300001}) {
    Tensor losses = rand_uniform({R}, rng, 0.0, 10.0);
    Tensor targets = rand_ints({R}, rng, 0, 5), pred = rand_ints({R}, rng, 0, 5);
    for (int64_t r = 0; r < R; ++r)
      if (rng.below(3) == 0) targets.set_item(r, kIgnore);
    for (bool with_pred : {true, false}) {
      const Tensor p = with_pred ? pred : Tensor();
      const LossStats want = cpu::loss_stats(losses, targets, p, kIgnore);
      const LossStats got = loss_stats(gpu(losses), gpu(targets), with_pred ? gpu(pred) : Tensor(), kIgnore);
      EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-12 * std::max(1.0, want.loss_sum)) << "R " << R;
      EXPECT_EQ(got.n_valid, want.n_valid) << "R " << R;
      EXPECT_EQ(got.n_correct, want.n_correct) << "R " << R;
    }
  }
}

TEST(CudaSsmA, ForwardBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (bool complex : {false, true})
    for (const auto& [D, N] : {std::pair<int64_t, int64_t>{1, 1}, {37, 16}, {1000, 3}}) {
      Tensor a_log = rand_uniform({D, N}, rng, -1.0, 3.0), a_imag = complex ? rand_normal({D, N}, rng) : Tensor();
      const Shape sa = complex ? Shape{D, N, 2} : Shape{D, N};
      Tensor A = gpu_poisoned(sa), A_cpu = Tensor::empty(sa);
      ssm_a_forward(gpu(a_log), complex ? gpu(a_imag) : Tensor(), A);
      cpu::ssm_a_forward(a_log, a_imag, A_cpu);
      EXPECT_LT(max_rel_error(A, A_cpu), 1e-6) << "complex " << complex << " D " << D;
      Tensor dA = rand_normal(sa, rng);
      Tensor gl0 = rand_normal({D, N}, rng), gi0 = complex ? rand_normal({D, N}, rng) : Tensor();
      Tensor gl = gpu(gl0), gi = complex ? gpu(gi0) : Tensor();
      ssm_a_backward(gpu(A_cpu), gpu(dA), gl, gi);  // the same A on both sides
      Tensor gl_cpu = gl0.clone(), gi_cpu = complex ? gi0.clone() : Tensor();
      cpu::ssm_a_backward(A_cpu, dA, gl_cpu, gi_cpu);
      EXPECT_EQ(max_rel_error(gl, gl_cpu), 0.0) << "complex " << complex << " D " << D;
      if (complex) {
        EXPECT_EQ(max_rel_error(gi, gi_cpu), 0.0) << "D " << D;
      }
    }
}

}  // namespace
}  // namespace ms
