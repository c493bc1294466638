// CPU RMSNorm (with the fused residual add) and LayerNorm: forward against a naive double computation,
// every gradient against finite differences, gradient accumulation semantics, determinism and errors.
#include <cmath>

#include "kernels/layernorm.h"
#include "kernels/rmsnorm.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

constexpr int64_t kRows0 = 3, kRows1 = 5, kH = 7;
const Shape kShape{kRows0, kRows1, kH};

// A (3, 5, 7) view whose rows are strided inside a wider contiguous storage; `storage` is what finite
// differences perturb.
struct Strided {
  Tensor storage, view;
};
Strided strided(Rng& rng, DType dt, bool zero = false) {
  Tensor st = zero ? Tensor::zeros({kRows0, kRows1, kH + 4}, dt) : test::rand_uniform({kRows0, kRows1, kH + 4}, rng, -1, 1, dt);
  return {st, st.slice(-1, 1, 1 + kH)};
}

TEST(RmsNorm, ForwardMatchesNaive) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes())
    for (bool with_res : {false, true}) {
      Strided x = strided(rng, dt);
      Tensor res = test::rand_uniform(kShape, rng, -1, 1, dt);
      Tensor w = test::rand_uniform({kH}, rng, 0.5, 1.5, dt);
      Tensor ro = Tensor::empty(kShape, dt), out = Tensor::empty(kShape, dt), rstd = Tensor::empty({15}, dt);
      for (const Tensor& t : {ro, out, rstd}) test::poison(t);
      const double eps = 1e-5;
      rmsnorm_forward(x.view, with_res ? res : Tensor(), w, eps, ro, out, rstd);
      const std::vector<double> xv = values(x.view), rv = values(res), wv = values(w), ov = values(out),
                                rov = values(ro), sv = values(rstd);
      for (int64_t r = 0; r < 15; ++r) {
        double ss = 0;
        std::vector<double> z(kH);
        for (int64_t h = 0; h < kH; ++h) {
          z[h] = xv[r * kH + h] + (with_res ? rv[r * kH + h] : 0.0);
          ss += z[h] * z[h];
        }
        const double rs = 1 / std::sqrt(ss / kH + eps);
        EXPECT_NEAR(sv[r], rs, test::tol(dt) * rs);
        for (int64_t h = 0; h < kH; ++h) {
          EXPECT_NEAR(rov[r * kH + h], z[h], test::tol(dt) * 2);
          EXPECT_NEAR(ov[r * kH + h], z[h] * rs * wv[h], test::tol(dt) * 4) << dtype_name(dt) << " r=" << r;
        }
      }
    }
}

TEST(RmsNorm, WithoutResidualOutNothingElseIsNeeded) {
  Rng rng(test::test_seed());
  Tensor x = test::rand_uniform({4, 6}, rng), w = test::rand_uniform({6}, rng);
  Tensor out = Tensor::empty({4, 6}), rstd = Tensor::empty({4});
  rmsnorm_forward(x, Tensor(), w, 1e-6, Tensor(), out, rstd);
  EXPECT_FALSE(test::has_nan(out));
  EXPECT_THROW(rmsnorm_forward(x, x, w, 1e-6, Tensor(), out, rstd), Error);  // residual needs residual_out
}

// loss = dot(out, Wo) + dot(residual_out, Wr): dresidual_out = Wr flows into dx (and so into residual).
void check_rmsnorm_gradients(bool with_res, bool with_dres, Rng& rng) {
  const DType dt = DType::f64;
  Strided x = strided(rng, dt);
  Tensor res = test::rand_uniform(kShape, rng, -1, 1, dt);
  Tensor w = test::rand_uniform({kH}, rng, 0.5, 1.5, dt);
  Tensor ro = Tensor::empty(kShape, dt), out = Tensor::empty(kShape, dt), rstd = Tensor::empty({15}, dt);
  Tensor Wo = test::rand_uniform(kShape, rng, -1, 1, dt), Wr = test::rand_uniform(kShape, rng, -1, 1, dt);
  const double eps = 1e-5;
  auto forward = [&] { rmsnorm_forward(x.view, with_res ? res : Tensor(), w, eps, ro, out, rstd); };
  auto loss = [&] {
    forward();
    return test::dot(out, Wo) + (with_dres ? test::dot(ro, Wr) : 0.0);
  };
  forward();
  Strided dx = strided(rng, dt, /*zero=*/true);
  test::poison(dx.view);  // activation gradient: overwritten
  Tensor dw0 = test::rand_uniform({kH}, rng, -1, 1, dt);
  Tensor dw = dw0.clone();  // parameter gradient: accumulated
  rmsnorm_backward(with_res ? ro : x.view, w, rstd, Wo, with_dres ? Wr : Tensor(), dx.view, dw);
  Tensor dw_only = Tensor::empty({kH}, dt);
  {
    const std::vector<double> a = values(dw), b = values(dw0);
    for (int64_t h = 0; h < kH; ++h) dw_only.set_item(h, a[h] - b[h]);
  }
  const std::string what = std::string("residual=") + (with_res ? "yes" : "no") + " dres=" + (with_dres ? "yes" : "no");
  EXPECT_LT(test::grad_check(loss, x.storage, dx.storage, rng, test::kFdEps, 200, test::kFdAtol), test::kFdTol) << "dx " << what;
  if (with_res) {
    EXPECT_LT(test::grad_check(loss, res, dx.view.contiguous(), rng, test::kFdEps, 200, test::kFdAtol), test::kFdTol) << "dresidual " << what;
  }
  EXPECT_LT(test::grad_check(loss, w, dw_only, rng, test::kFdEps, 200, test::kFdAtol), test::kFdTol) << "dweight " << what;
}

TEST(RmsNorm, GradientsMatchFiniteDifferences) {
  Rng rng(test::test_seed());
  check_rmsnorm_gradients(false, false, rng);
  check_rmsnorm_gradients(true, false, rng);
  check_rmsnorm_gradients(true, true, rng);
  check_rmsnorm_gradients(false, true, rng);
}

TEST(RmsNorm, WeightGradientIsBitIdenticalRunToRun) {
  Rng rng(test::test_seed());
  const int64_t R = 3000, H = 33;
  Tensor x = test::rand_normal({R, H}, rng), w = test::rand_uniform({H}, rng), dy = test::rand_normal({R, H}, rng);
  Tensor out = Tensor::empty({R, H}), rstd = Tensor::empty({R}), dx = Tensor::empty({R, H});
  rmsnorm_forward(x, Tensor(), w, 1e-5, Tensor(), out, rstd);
  Tensor a = Tensor::zeros({H}), b = Tensor::zeros({H});
  rmsnorm_backward(x, w, rstd, dy, Tensor(), dx, a);
  rmsnorm_backward(x, w, rstd, dy, Tensor(), dx, b);
  EXPECT_EQ(values(a), values(b));
}

TEST(RmsNorm, RejectsBadArguments) {
  Tensor x = Tensor::zeros({4, 6}), w = Tensor::zeros({6}), out = Tensor::empty({4, 6}), rstd = Tensor::empty({4});
  EXPECT_THROW(rmsnorm_forward(x, Tensor(), Tensor::zeros({5}), 1e-5, Tensor(), out, rstd), Error);
  EXPECT_THROW(rmsnorm_forward(x, Tensor(), w, 1e-5, Tensor(), out, Tensor::empty({3})), Error);
  EXPECT_THROW(rmsnorm_forward(x, Tensor(), w.to(DType::f64), 1e-5, Tensor(), out, rstd), Error);
  EXPECT_THROW(rmsnorm_forward(x.to(DType::bf16), Tensor(), w, 1e-5, Tensor(), out, rstd), Error);
  EXPECT_THROW(rmsnorm_forward(x.transpose(0, 1), Tensor(), Tensor::zeros({4}), 1e-5, Tensor(), Tensor::empty({6, 4}),
                               Tensor::empty({6})),
               Error);  // rows must have a unit inner stride
  EXPECT_THROW(rmsnorm_backward(x, w, rstd, Tensor::zeros({4, 5}), Tensor(), Tensor::empty({4, 6}), Tensor::zeros({6})),
               Error);
}

TEST(LayerNorm, ForwardMatchesNaive) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes())
    for (bool with_bias : {false, true}) {
      Strided x = strided(rng, dt);
      Tensor w = test::rand_uniform({kH}, rng, 0.5, 1.5, dt), b = test::rand_uniform({kH}, rng, -1, 1, dt);
      Tensor out = Tensor::empty(kShape, dt), mean = Tensor::empty({15}, dt), rstd = Tensor::empty({15}, dt);
      for (const Tensor& t : {out, mean, rstd}) test::poison(t);
      const double eps = 1e-5;
      layernorm_forward(x.view, w, with_bias ? b : Tensor(), eps, out, mean, rstd);
      const std::vector<double> xv = values(x.view), wv = values(w), bv = values(b), ov = values(out),
                                mv = values(mean), sv = values(rstd);
      for (int64_t r = 0; r < 15; ++r) {
        double mu = 0, var = 0;
        for (int64_t h = 0; h < kH; ++h) mu += xv[r * kH + h] / kH;
        for (int64_t h = 0; h < kH; ++h) var += (xv[r * kH + h] - mu) * (xv[r * kH + h] - mu) / kH;
        const double rs = 1 / std::sqrt(var + eps);
        EXPECT_NEAR(mv[r], mu, test::tol(dt));
        EXPECT_NEAR(sv[r], rs, test::tol(dt) * rs);
        for (int64_t h = 0; h < kH; ++h)
          EXPECT_NEAR(ov[r * kH + h], (xv[r * kH + h] - mu) * rs * wv[h] + (with_bias ? bv[h] : 0.0), test::tol(dt) * 8);
      }
    }
}

TEST(LayerNorm, GradientsMatchFiniteDifferences) {
  Rng rng(test::test_seed());
  const DType dt = DType::f64;
  for (bool with_bias : {false, true}) {
    Strided x = strided(rng, dt);
    Tensor w = test::rand_uniform({kH}, rng, 0.5, 1.5, dt), b = test::rand_uniform({kH}, rng, -1, 1, dt);
    Tensor out = Tensor::empty(kShape, dt), mean = Tensor::empty({15}, dt), rstd = Tensor::empty({15}, dt);
    Tensor Wo = test::rand_uniform(kShape, rng, -1, 1, dt);
    auto forward = [&] { layernorm_forward(x.view, w, with_bias ? b : Tensor(), 1e-5, out, mean, rstd); };
    forward();
    Strided dx = strided(rng, dt, true);
    test::poison(dx.view);
    Tensor dw0 = test::rand_uniform({kH}, rng, -1, 1, dt), db0 = test::rand_uniform({kH}, rng, -1, 1, dt);
    Tensor dw = dw0.clone(), db = db0.clone();
    layernorm_backward(x.view, w, mean, rstd, Wo, dx.view, dw, with_bias ? db : Tensor());
    auto minus = [](const Tensor& a, const Tensor& b) {
      Tensor d = a.clone();
      for (int64_t i = 0; i < a.numel(); ++i) d.set_item(i, a.item(i) - b.item(i));
      return d;
    };
    EXPECT_LT(test::fd_check(forward, out, Wo, x.storage, dx.storage, rng), test::kFdTol) << "dx bias=" << with_bias;
    EXPECT_LT(test::fd_check(forward, out, Wo, w, minus(dw, dw0), rng), test::kFdTol) << "dweight bias=" << with_bias;
    if (with_bias) {
      EXPECT_LT(test::fd_check(forward, out, Wo, b, minus(db, db0), rng), test::kFdTol) << "dbias";
    } else {
      EXPECT_EQ(values(db), values(db0));  // untouched when not asked for
    }
  }
}

TEST(LayerNorm, RejectsBadArguments) {
  Tensor x = Tensor::zeros({4, 6}), w = Tensor::zeros({6}), out = Tensor::empty({4, 6}), st = Tensor::empty({4});
  EXPECT_THROW(layernorm_forward(x, w, Tensor::zeros({5}), 1e-5, out, st, st), Error);
  EXPECT_THROW(layernorm_forward(x, w, Tensor(), 1e-5, out, Tensor::empty({5}), st), Error);
  EXPECT_THROW(layernorm_forward(x.to(DType::f64), w, Tensor(), 1e-5, out, st, st), Error);
  EXPECT_THROW(layernorm_forward(x, w, Tensor(), -1.0, out, st, st), Error);
}

}  // namespace
}  // namespace ms
