// CPU causal depthwise conv1d: forward against a naive loop, gradients against finite differences (with and
// without SiLU, bias, init_state; L < K; odd L), accumulation semantics, chunked continuation, and the
// step op reproducing the parallel forward token by token.
#include <cmath>

#include "kernels/conv1d.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

struct Case {
  int64_t B, D, L, K;
  bool silu, bias, init;
};

std::string name(const Case& c) {
  return "B" + std::to_string(c.B) + " D" + std::to_string(c.D) + " L" + std::to_string(c.L) + " K" +
         std::to_string(c.K) + (c.silu ? " silu" : "") + (c.bias ? " bias" : "") + (c.init ? " init" : "");
}

const Case kCases[] = {
    {2, 3, 13, 4, true, true, true},  {2, 3, 13, 4, false, false, false}, {1, 4, 2, 4, true, true, true},
    {2, 2, 3, 4, true, false, false}, {3, 2, 7, 3, false, true, true},    {1, 3, 1, 4, true, true, true},
    {2, 3, 9, 1, true, true, false},  {2, 5, 16, 4, true, true, false},
};

// x as channels [D, 2D) of a (B, 2D, L) tensor, as when it is a slice of in_proj's output.
struct Input {
  Tensor storage, x;
};
Input make_x(const Case& c, Rng& rng, DType dt, bool zero = false) {
  Tensor st = zero ? Tensor::zeros({c.B, 2 * c.D, c.L}, dt) : test::rand_uniform({c.B, 2 * c.D, c.L}, rng, -1, 1, dt);
  return {st, st.slice(1, c.D, 2 * c.D)};
}

std::vector<double> naive_conv(const Case& c, const Tensor& x, const Tensor& w, const Tensor& bias,
                               const Tensor& init) {
  const std::vector<double> xv = values(x), wv = values(w);
  const std::vector<double> bv = bias.defined() ? values(bias) : std::vector<double>(c.D, 0.0);
  const std::vector<double> iv = init.defined() ? values(init) : std::vector<double>(c.B * c.D * (c.K - 1), 0.0);
  std::vector<double> y(c.B * c.D * c.L);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t d = 0; d < c.D; ++d)
      for (int64_t t = 0; t < c.L; ++t) {
        double a = bv[d];
        for (int64_t k = 0; k < c.K; ++k) {
          const int64_t s = t - (c.K - 1) + k;  // position in x; negative = from init_state
          const double v = s >= 0 ? xv[(b * c.D + d) * c.L + s] : iv[(b * c.D + d) * (c.K - 1) + (c.K - 1 + s)];
          a += wv[d * c.K + k] * v;
        }
        y[(b * c.D + d) * c.L + t] = c.silu ? a / (1 + std::exp(-a)) : a;
      }
  return y;
}

TEST(Conv1d, ForwardMatchesNaive) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes())
    for (const Case& c : kCases) {
      Input in = make_x(c, rng, dt);
      Tensor w = test::rand_uniform({c.D, c.K}, rng, -1, 1, dt);
      Tensor bias = c.bias ? test::rand_uniform({c.D}, rng, -1, 1, dt) : Tensor();
      Tensor init = c.init ? test::rand_uniform({c.B, c.D, c.K - 1}, rng, -1, 1, dt) : Tensor();
      Tensor y = Tensor::empty({c.B, c.D, c.L}, dt);
      test::poison(y);
      causal_conv1d_forward(in.x, w, bias, init, c.silu, y);
      const std::vector<double> got = values(y), ref = naive_conv(c, in.x, w, bias, init);
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(got[i], ref[i], test::tol(dt) * 4) << name(c) << " " << dtype_name(dt) << " i=" << i;
    }
}

TEST(Conv1d, GradientsMatchFiniteDifferences) {
  Rng rng(test::test_seed());
  const DType dt = DType::f64;
  for (const Case& c : kCases) {
    Input in = make_x(c, rng, dt);
    Tensor w = test::rand_uniform({c.D, c.K}, rng, -1, 1, dt);
    Tensor bias = c.bias ? test::rand_uniform({c.D}, rng, -1, 1, dt) : Tensor();
    Tensor init = c.init ? test::rand_uniform({c.B, c.D, c.K - 1}, rng, -1, 1, dt) : Tensor();
    Tensor y = Tensor::empty({c.B, c.D, c.L}, dt);
    Tensor Wy = test::rand_uniform({c.B, c.D, c.L}, rng, -1, 1, dt);
    auto forward = [&] { causal_conv1d_forward(in.x, w, bias, init, c.silu, y); };
    Input dx = make_x(c, rng, dt, /*zero=*/true);
    test::poison(dx.x);
    Tensor dw0 = test::rand_uniform({c.D, c.K}, rng, -1, 1, dt), db0 = test::rand_uniform({c.D}, rng, -1, 1, dt);
    Tensor dw = dw0.clone(), db = db0.clone();
    causal_conv1d_backward(in.x, w, bias, init, c.silu, Wy, dx.x, dw, c.bias ? db : Tensor());
    Tensor dw_only = Tensor::empty({c.D, c.K}, dt), db_only = Tensor::empty({c.D}, dt);
    for (int64_t i = 0; i < dw.numel(); ++i) dw_only.set_item(i, dw.item(i) - dw0.item(i));
    for (int64_t i = 0; i < db.numel(); ++i) db_only.set_item(i, db.item(i) - db0.item(i));
    EXPECT_LT(test::fd_check(forward, y, Wy, in.storage, dx.storage, rng), test::kFdTol) << "dx " << name(c);
    EXPECT_LT(test::fd_check(forward, y, Wy, w, dw_only, rng), test::kFdTol) << "dweight " << name(c);
    if (c.bias) {
      EXPECT_LT(test::fd_check(forward, y, Wy, bias, db_only, rng), test::kFdTol) << "dbias " << name(c);
    } else {
      EXPECT_EQ(values(db), values(db0));
    }
  }
}

// The state after a sequence: the last K-1 entries of concat(init_state or zeros, x).
Tensor final_state(const Case& c, const Tensor& x, const Tensor& init, DType dt) {
  Tensor st = Tensor::empty({c.B, c.D, c.K - 1}, dt);
  const std::vector<double> xv = values(x);
  const std::vector<double> iv = init.defined() ? values(init) : std::vector<double>(c.B * c.D * (c.K - 1), 0.0);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t d = 0; d < c.D; ++d)
      for (int64_t k = 0; k < c.K - 1; ++k) {
        const int64_t s = c.L - (c.K - 1) + k;
        st.set_item((b * c.D + d) * (c.K - 1) + k,
                    s >= 0 ? xv[(b * c.D + d) * c.L + s] : iv[(b * c.D + d) * (c.K - 1) + (c.K - 1 + s)]);
      }
  return st;
}

TEST(Conv1d, StepReproducesTheParallelForward) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes())
    for (const Case& c : kCases) {
      Input in = make_x(c, rng, dt);
      Tensor w = test::rand_uniform({c.D, c.K}, rng, -1, 1, dt);
      Tensor bias = c.bias ? test::rand_uniform({c.D}, rng, -1, 1, dt) : Tensor();
      Tensor init = c.init ? test::rand_uniform({c.B, c.D, c.K - 1}, rng, -1, 1, dt) : Tensor();
      Tensor y = Tensor::empty({c.B, c.D, c.L}, dt);
      causal_conv1d_forward(in.x, w, bias, init, c.silu, y);
      // Step mode from the same initial state, one token at a time.
      Tensor state = init.defined() ? init.clone() : Tensor::zeros({c.B, c.D, c.K - 1}, dt);
      Tensor ys = Tensor::empty({c.B, c.D, c.L}, dt);
      test::poison(ys);
      for (int64_t t = 0; t < c.L; ++t) {
        Tensor yt = Tensor::empty({c.B, c.D}, dt);
        test::poison(yt);
        causal_conv1d_step(state, in.x.select(2, t), w, bias, c.silu, yt);
        ys.select(2, t).copy_(yt);
      }
      EXPECT_LT(test::max_rel_error(ys, y), test::tol(dt)) << name(c);
      EXPECT_EQ(values(state), values(final_state(c, in.x, init, dt))) << name(c);
    }
}

TEST(Conv1d, ChunkedForwardContinuesFromInitState) {
  Rng rng(test::test_seed());
  const Case c{2, 3, 23, 4, true, true, true};
  Input in = make_x(c, rng, DType::f64);
  Tensor w = test::rand_uniform({c.D, c.K}, rng, -1, 1, DType::f64);
  Tensor bias = test::rand_uniform({c.D}, rng, -1, 1, DType::f64);
  Tensor init = test::rand_uniform({c.B, c.D, c.K - 1}, rng, -1, 1, DType::f64);
  Tensor y = Tensor::empty({c.B, c.D, c.L}, DType::f64);
  causal_conv1d_forward(in.x, w, bias, init, true, y);
  // Three chunks, one shorter than the kernel: each continues from the previous chunk's final state.
  Tensor ychunks = Tensor::empty({c.B, c.D, c.L}, DType::f64);
  test::poison(ychunks);
  Tensor state = init.clone();
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 10}, {10, 12}, {12, 23}}) {
    Case part = c;
    part.L = hi - lo;
    Tensor xs = in.x.slice(2, lo, hi);
    causal_conv1d_forward(xs, w, bias, state, true, ychunks.slice(2, lo, hi));
    state = final_state(part, xs, state, DType::f64);
  }
  EXPECT_LT(test::max_rel_error(ychunks, y), 1e-14);
}

TEST(Conv1d, RejectsBadArguments) {
  Tensor x = Tensor::zeros({2, 3, 8}), w = Tensor::zeros({3, 4}), y = Tensor::empty({2, 3, 8});
  EXPECT_THROW(causal_conv1d_forward(x, Tensor::zeros({4, 4}), Tensor(), Tensor(), true, y), Error);
  EXPECT_THROW(causal_conv1d_forward(x, w, Tensor::zeros({2}), Tensor(), true, y), Error);
  EXPECT_THROW(causal_conv1d_forward(x, w, Tensor(), Tensor::zeros({2, 3, 4}), true, y), Error);  // K-1 = 3
  EXPECT_THROW(causal_conv1d_forward(x, w.to(DType::f64), Tensor(), Tensor(), true, y), Error);
  EXPECT_THROW(causal_conv1d_forward(x.transpose(1, 2), w, Tensor(), Tensor(), true, Tensor::empty({2, 8, 3})), Error);
  EXPECT_THROW(causal_conv1d_forward(x.to(DType::bf16), w, Tensor(), Tensor(), true, y.to(DType::bf16)), Error);
  EXPECT_THROW(causal_conv1d_step(Tensor::zeros({2, 3, 4}), x.select(2, 0), w, Tensor(), true, Tensor::empty({2, 3})),
               Error);
}

}  // namespace
}  // namespace ms
