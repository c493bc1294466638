// CPU AdamW: a two-step example worked out by hand, agreement with the textbook formula over several
// steps (weight decay, gradient scaling), and argument checks.
#include <cmath>

#include "kernels/adamw.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

TEST(AdamW, TwoStepsWorkedByHand) {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, weight decay 0.01; p0 = 1, grads 0.5 then -0.25.
  // Step 1: p = 1 * (1 - 0.1 * 0.01) = 0.999; m = 0.1 * 0.5 = 0.05; v = 0.001 * 0.25 = 0.00025;
  //   m^ = 0.05 / 0.1 = 0.5, v^ = 0.00025 / 0.001 = 0.25, p -= 0.1 * 0.5 / (0.5 + 1e-8) -> 0.899000002.
  // Step 2: p = 0.899000002 * 0.999 = 0.898101001998; m = 0.045 - 0.025 = 0.02;
  //   v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225; m^ = 0.02 / 0.19 = 0.1052631578947,
  //   v^ = 0.00031225 / 0.001999 = 0.1562031015508, sqrt = 0.3952253807;
  //   p -= 0.1 * 0.1052631578947 / 0.3952253907 = 0.0266337033 -> 0.8714672987058.
  for (DType dt : test::float_dtypes()) {
    Tensor p = Tensor::full({3}, 1.0, dt), m = Tensor::zeros({3}, dt), v = Tensor::zeros({3}, dt);
    AdamWStep s;
    s.lr = 0.1;
    s.weight_decay = 0.01;
    s.step = 1;
    adamw_update(p, Tensor::full({3}, 0.5, dt), m, v, s);
    const double t = dt == DType::f32 ? 2e-7 : 1e-14;
    EXPECT_NEAR(p.item(1), 0.899000002, t);
    EXPECT_NEAR(m.item(1), 0.05, t);
    EXPECT_NEAR(v.item(1), 0.00025, t * 1e-3);
    s.step = 2;
    adamw_update(p, Tensor::full({3}, -0.25, dt), m, v, s);
    EXPECT_NEAR(p.item(2), 0.8714672987058, dt == DType::f32 ? 2e-7 : 1e-12);
    EXPECT_NEAR(m.item(2), 0.02, t);
    EXPECT_NEAR(v.item(2), 0.00031225, t * 1e-3);
  }
}

TEST(AdamW, MatchesTheFormulaOverSeveralSteps) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    const Shape shape{37, 11};
    Tensor p = test::rand_uniform(shape, rng, -1, 1, dt);
    Tensor m = Tensor::zeros(shape, dt), v = Tensor::zeros(shape, dt);
    std::vector<double> rp = values(p), rm(rp.size(), 0.0), rv(rp.size(), 0.0);
    AdamWStep s;
    s.lr = 3e-3;
    s.beta1 = 0.85;
    s.beta2 = 0.99;
    s.eps = 1e-6;
    s.weight_decay = 0.1;
    for (int64_t step = 1; step <= 5; ++step) {
      Tensor g = test::rand_normal(shape, rng, 1.0, dt);
      s.step = step;
      s.grad_scale = step == 3 ? 0.4 : 1.0;  // clipping on one step
      adamw_update(p, g, m, v, s);
      const std::vector<double> gv = values(g);
      for (size_t i = 0; i < rp.size(); ++i) {
        const double gi = gv[i] * s.grad_scale;
        rp[i] *= 1 - s.lr * s.weight_decay;
        rm[i] = s.beta1 * rm[i] + (1 - s.beta1) * gi;
        rv[i] = s.beta2 * rv[i] + (1 - s.beta2) * gi * gi;
        const double mh = rm[i] / (1 - std::pow(s.beta1, step)), vh = rv[i] / (1 - std::pow(s.beta2, step));
        rp[i] -= s.lr * mh / (std::sqrt(vh) + s.eps);
      }
    }
    const std::vector<double> gp = values(p), gm = values(m), gv = values(v);
    const double t = dt == DType::f32 ? 1e-6 : 1e-13;
    for (size_t i = 0; i < rp.size(); ++i) {
      ASSERT_NEAR(gp[i], rp[i], t) << dtype_name(dt) << " i=" << i;
      ASSERT_NEAR(gm[i], rm[i], t);
      ASSERT_NEAR(gv[i], rv[i], t);
    }
  }
}

TEST(AdamW, ZeroGradientOnlyDecays) {
  Tensor p = Tensor::full({4}, 2.0, DType::f64), m = Tensor::zeros({4}, DType::f64), v = Tensor::zeros({4}, DType::f64);
  AdamWStep s;
  s.lr = 0.5;
  s.weight_decay = 0.2;
  adamw_update(p, Tensor::zeros({4}, DType::f64), m, v, s);
  EXPECT_DOUBLE_EQ(p.item(0), 2.0 * 0.9);
}

TEST(AdamW, RejectsBadArguments) {
  Tensor p = Tensor::zeros({4, 3}), g = Tensor::zeros({4, 3});
  AdamWStep s;
  EXPECT_THROW(adamw_update(p, Tensor::zeros({3, 4}), Tensor::zeros({4, 3}), Tensor::zeros({4, 3}), s), Error);
  EXPECT_THROW(adamw_update(p, g, Tensor::zeros({4, 3}, DType::f64), Tensor::zeros({4, 3}), s), Error);
  EXPECT_THROW(adamw_update(p, g, Tensor::zeros({3, 4}).transpose(0, 1), Tensor::zeros({4, 3}), s), Error);
  EXPECT_THROW(adamw_update(p.to(DType::bf16), g.to(DType::bf16), Tensor::zeros({4, 3}, DType::bf16),
                            Tensor::zeros({4, 3}, DType::bf16), s),
               Error);
  s.step = 0;
  EXPECT_THROW(adamw_update(p, g, Tensor::zeros({4, 3}), Tensor::zeros({4, 3}), s), Error);
}

}  // namespace
}  // namespace ms
