// CPU SiLU / softplus (forward against the formulas, backward against finite differences, the softplus
// threshold) and the elementwise helpers (add, axpy, scale, cast, sum_squares, all_finite).
#include <cmath>
#include <limits>

#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

double ref_silu(double x) { return x / (1 + std::exp(-x)); }
double ref_softplus(double x) { return x > 20 ? x : std::log(1 + std::exp(x)); }

TEST(Activation, ForwardMatchesFormulas) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    Tensor x = test::rand_uniform({9, 17}, rng, -30, 30, dt);
    x.set_item(0, 20.5);  // above the softplus threshold
    x.set_item(1, 19.5);
    Tensor y = Tensor::empty({9, 17}, dt);
    test::poison(y);
    silu_forward(x, y);
    const std::vector<double> xv = values(x);
    std::vector<double> yv = values(y);
    for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(yv[i], ref_silu(xv[i]), test::tol(dt) * (1 + std::abs(xv[i])));
    test::poison(y);
    softplus_forward(x, y);
    yv = values(y);
    for (size_t i = 0; i < xv.size(); ++i)
      EXPECT_NEAR(yv[i], ref_softplus(xv[i]), test::tol(dt) * (1 + std::abs(xv[i])));
    EXPECT_EQ(yv[0], xv[0]);  // softplus(x) = x exactly above 20
  }
}

TEST(Activation, BackwardMatchesFiniteDifferences) {
  Rng rng(test::test_seed());
  const DType dt = DType::f64;
  Tensor storage = test::rand_uniform({6, 14}, rng, -8, 8, dt);
  Tensor x = storage.slice(1, 2, 12);  // strided view
  x.set_item(0, 25.0);                 // softplus above its threshold: derivative 1
  Tensor y = Tensor::empty({6, 10}, dt), W = test::rand_uniform({6, 10}, rng, -1, 1, dt);
  for (int which = 0; which < 2; ++which) {
    auto forward = [&] { which == 0 ? silu_forward(x, y) : softplus_forward(x, y); };
    Tensor dstorage = Tensor::zeros({6, 14}, dt);
    Tensor dx = dstorage.slice(1, 2, 12);
    test::poison(dx);
    which == 0 ? silu_backward(x, W, dx) : softplus_backward(x, W, dx);
    EXPECT_LT(test::fd_check(forward, y, W, storage, dstorage, rng), test::kFdTol) << (which == 0 ? "silu" : "softplus");
    if (which == 1) {
      EXPECT_EQ(dx.item(0), W.item(0));
    }
  }
}

TEST(Activation, RejectsBadArguments) {
  Tensor x = Tensor::zeros({3, 4});
  EXPECT_THROW(silu_forward(x, Tensor::empty({4, 3})), Error);
  EXPECT_THROW(silu_forward(x, Tensor::empty({3, 4}, DType::f64)), Error);
  EXPECT_THROW(softplus_backward(x, x, Tensor::empty({3})), Error);
  EXPECT_THROW(silu_forward(x.to(DType::bf16), x.to(DType::bf16)), Error);
}

TEST(Elementwise, AddAxpyScaleWithStrides) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    Tensor a = test::rand_uniform({5, 7}, rng, -1, 1, dt).transpose(0, 1);  // (7, 5) column-major
    Tensor b = test::rand_row_strided({7, 5}, rng, dt);
    Tensor out = Tensor::empty({7, 5}, dt);
    test::poison(out);
    add(a, b, out);
    const std::vector<double> av = values(a), bv = values(b);
    std::vector<double> ov = values(out);
    for (size_t i = 0; i < av.size(); ++i) EXPECT_NEAR(ov[i], av[i] + bv[i], test::tol(dt) * 2);

    Tensor y = test::rand_row_strided({7, 5}, rng, dt);
    const std::vector<double> y0 = values(y);
    axpy(-0.25, a, y);
    ov = values(y);
    for (size_t i = 0; i < av.size(); ++i) EXPECT_NEAR(ov[i], y0[i] - 0.25 * av[i], test::tol(dt) * 2);

    scale(a, 3.0);
    ov = values(a);
    for (size_t i = 0; i < av.size(); ++i) EXPECT_NEAR(ov[i], 3.0 * av[i], test::tol(dt) * 4);
  }
}

TEST(Elementwise, CastBetweenFloatTypes) {
  Rng rng(test::test_seed());
  Tensor d = test::rand_normal({4, 6}, rng, 1.0, DType::f64);
  Tensor f = Tensor::empty({4, 6}, DType::f32), b = Tensor::empty({4, 6}, DType::bf16);
  Tensor back = Tensor::empty({4, 6}, DType::f64);
  cast(d, f);
  cast(f, back);
  EXPECT_LT(test::max_rel_error(back, d), 1e-7);
  cast(f, b);
  EXPECT_EQ(values(b), values(f.to(DType::bf16)));  // same rounding as Tensor::to
  cast(b, back);
  EXPECT_LT(test::max_rel_error(back, d), 1e-2);
  EXPECT_THROW(cast(d, Tensor::empty({4, 6}, DType::i32)), Error);
  EXPECT_THROW(cast(d, Tensor::empty({6, 4}, DType::f32)), Error);
}

TEST(Elementwise, SumSquaresAndAllFinite) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    Tensor x = test::rand_normal({301, 97}, rng, 1.0, dt).slice(1, 3, 90);
    double ref = 0;
    for (double v : values(x)) ref += v * v;
    const double got = sum_squares(x);
    EXPECT_NEAR(got, ref, 1e-12 * ref);
    EXPECT_EQ(sum_squares(x), got);  // bit-identical run to run
    EXPECT_TRUE(all_finite(x));
    x.set_item(5000, std::numeric_limits<double>::infinity());
    EXPECT_FALSE(all_finite(x));
    x.set_item(5000, std::numeric_limits<double>::quiet_NaN());
    EXPECT_FALSE(all_finite(x));
  }
  EXPECT_EQ(sum_squares(Tensor::zeros({0})), 0.0);
  EXPECT_THROW(sum_squares(Tensor::zeros({3}, DType::i32)), Error);
}

}  // namespace
}  // namespace ms
