// The UNet's causal pooling layers (model/pooling.h): naive references, the exact reach of the up-pool's
// shift, f64 finite-difference gradients, chunked up-pooling with carried history, and shape errors.
#include <string>
#include <utility>
#include <vector>

#include "kernels/elementwise.h"
#include "model/pooling.h"
#include "tests/model/unet_test_util.h"

namespace ms::test {
namespace {

// out[b, j, o] = sum_{k, w} weight[o, k W + w] x[b, p j + k, w]
Tensor naive_down_pool(const Tensor& weight, int64_t p, const Tensor& x) {
  const int64_t B = x.size(0), L = x.size(1), W = x.size(2), O = weight.size(0);
  Tensor out = Tensor::zeros({B, L / p, O}, DType::f64);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < L / p; ++j)
      for (int64_t o = 0; o < O; ++o) {
        double acc = 0;
        for (int64_t k = 0; k < p; ++k)
          for (int64_t w = 0; w < W; ++w)
            acc += weight.item(o * p * W + k * W + w) * x.item((b * L + p * j + k) * W + w);
        out.set_item((b * (L / p) + j) * O + o, acc);
      }
  return out;
}

// out[b, t, w] = skip[b, t, w] + raw[b, t - (p - 1), w], raw[b, p j + k, w] = sum_o weight[k W + w, o] c[b, j, o].
Tensor naive_up_pool(const Tensor& weight, int64_t p, const Tensor& c, const Tensor& skip) {
  const int64_t B = c.size(0), Lc = c.size(1), Wc = c.size(2), L = Lc * p, W = skip.size(2);
  Tensor out = skip.to(DType::f64).clone();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = p - 1; t < L; ++t) {
      const int64_t r = t - (p - 1), j = r / p, k = r % p;
      for (int64_t w = 0; w < W; ++w) {
        double acc = 0;
        for (int64_t o = 0; o < Wc; ++o) acc += weight.item((k * W + w) * Wc + o) * c.item((b * Lc + j) * Wc + o);
        out.set_item((b * L + t) * W + w, out.item((b * L + t) * W + w) + acc);
      }
    }
  return out;
}

// The loss dot(out, g) is linear in each argument, so central differences are exact up to rounding: a large
// step keeps the rounding noise far below the tolerance.
constexpr double kEps = 1e-2;

struct PoolCase {
  int64_t p, B, Lc, W, Wc;
};
const PoolCase kCases[] = {{1, 2, 5, 3, 4}, {2, 3, 4, 5, 7}, {3, 1, 3, 4, 6}, {4, 2, 5, 3, 6}, {4, 1, 1, 2, 3}};

TEST(UNetPool, DownPoolMatchesNaiveAndGradients) {
  Rng rng(test_seed());
  for (const PoolCase& k : kCases) {
    const int64_t L = k.Lc * k.p;
    Tensor x = rand_normal({k.B, L, k.W}, rng, 1.0, DType::f64);
    Tensor weight = rand_normal({k.Wc, k.p * k.W}, rng, 0.5, DType::f64);
    Tensor out = Tensor::empty({k.B, k.Lc, k.Wc}, DType::f64);
    poison(out);
    down_pool_forward(weight, k.p, x, out);
    EXPECT_LT(max_rel_error(out, naive_down_pool(weight, k.p, x)), 1e-12) << "p " << k.p;

    Tensor g = rand_normal(out.shape(), rng, 1.0, DType::f64);
    auto loss = [&]() {
      Tensor o = Tensor::empty(out.shape(), DType::f64);
      down_pool_forward(weight, k.p, x, o);
      return dot(o, g);
    };
    Tensor dx = Tensor::empty_like(x), dw = Tensor::zeros_like(weight);
    poison(dx);
    down_pool_backward(weight, k.p, x, g, dx, dw, false);
    EXPECT_LT(grad_check(loss, x, dx, rng, kEps), 1e-7) << "dx, p " << k.p;
    EXPECT_LT(grad_check(loss, weight, dw, rng, kEps), 1e-7) << "dweight, p " << k.p;
    // dx accumulates on request, dweight always.
    Tensor dx2 = dx.clone(), dw2 = dw.clone();
    down_pool_backward(weight, k.p, x, g, dx2, dw2, true);
    Tensor twice = dx.clone();
    scale(twice, 2.0);
    EXPECT_LT(max_rel_error(dx2, twice), 1e-14);
    scale(dw, 2.0);
    EXPECT_LT(max_rel_error(dw2, dw), 1e-14);
  }
}

TEST(UNetPool, UpPoolMatchesNaiveAndGradients) {
  Rng rng(test_seed());
  for (const PoolCase& k : kCases) {
    const int64_t L = k.Lc * k.p;
    Tensor c = rand_normal({k.B, k.Lc, k.Wc}, rng, 1.0, DType::f64);
    Tensor skip = rand_normal({k.B, L, k.W}, rng, 1.0, DType::f64);
    Tensor weight = rand_normal({k.p * k.W, k.Wc}, rng, 0.5, DType::f64);
    Tensor out = Tensor::empty({k.B, L, k.W}, DType::f64);
    poison(out);
    up_pool_forward(weight, k.p, c, skip, out);
    EXPECT_LT(max_rel_error(out, naive_up_pool(weight, k.p, c, skip)), 1e-12) << "p " << k.p;

    Tensor g = rand_normal(out.shape(), rng, 1.0, DType::f64);
    auto loss = [&]() {
      Tensor o = Tensor::empty(out.shape(), DType::f64);
      up_pool_forward(weight, k.p, c, skip, o);
      return dot(o, g);
    };
    Tensor dc = Tensor::empty_like(c), dw = Tensor::zeros_like(weight);
    poison(dc);
    up_pool_backward(weight, k.p, c, g, dc, dw);
    EXPECT_LT(grad_check(loss, c, dc, rng, kEps), 1e-7) << "dc, p " << k.p;
    EXPECT_LT(grad_check(loss, weight, dw, rng, kEps), 1e-7) << "dweight, p " << k.p;
    EXPECT_LT(grad_check(loss, skip, g, rng, kEps), 1e-7) << "dskip is dout, p " << k.p;
  }
}

// Coarse step j reaches exactly outputs p j + p - 1 .. p j + 2p - 2 (those inside the sequence): never one
// before the last input it pooled (p j + p - 1), and with no gap after the previous step's outputs.
TEST(UNetPool, UpPoolShiftReachesExactlyTheAllowedOutputs) {
  Rng rng(test_seed());
  for (const PoolCase& k : kCases) {
    const int64_t L = k.Lc * k.p;
    Tensor c = rand_normal({k.B, k.Lc, k.Wc}, rng, 1.0, DType::f64);
    Tensor skip = rand_normal({k.B, L, k.W}, rng, 1.0, DType::f64);
    Tensor weight = rand_normal({k.p * k.W, k.Wc}, rng, 0.5, DType::f64);
    Tensor base = Tensor::empty({k.B, L, k.W}, DType::f64);
    up_pool_forward(weight, k.p, c, skip, base);
    for (int64_t j = 0; j < k.Lc; ++j) {
      Tensor c2 = c.clone();
      for (int64_t o = 0; o < k.Wc; ++o) c2.set_item(j * k.Wc + o, c2.item(j * k.Wc + o) + 1.0);  // batch 0
      Tensor out = Tensor::empty_like(base);
      up_pool_forward(weight, k.p, c2, skip, out);
      for (int64_t t = 0; t < L; ++t) {
        const bool reached = t >= k.p * j + k.p - 1 && t <= k.p * j + 2 * k.p - 2;
        const bool changed = !bitwise_equal(out.select(0, 0).select(0, t), base.select(0, 0).select(0, t));
        EXPECT_EQ(changed, reached) << "p " << k.p << " coarse step " << j << " output " << t;
      }
    }
  }
}

// Up-pooling chunk by chunk with the carried history equals one call over the whole sequence.
TEST(UNetPool, ChunkedUpPoolWithHistoryEqualsWhole) {
  Rng rng(test_seed());
  for (const int64_t p : {1, 2, 4}) {
    const int64_t B = 2, Lc = 7, W = 3, Wc = 5, L = Lc * p;
    Tensor c = rand_normal({B, Lc, Wc}, rng, 1.0, DType::f64);
    Tensor skip = rand_normal({B, L, W}, rng, 1.0, DType::f64);
    Tensor weight = rand_normal({p * W, Wc}, rng, 0.5, DType::f64);
    Tensor whole = Tensor::empty({B, L, W}, DType::f64);
    up_pool_forward(weight, p, c, skip, whole);
    Tensor history = Tensor::zeros({B, p, W}, DType::f64);
    Tensor chunked = Tensor::empty({B, L, W}, DType::f64);
    poison(chunked);
    for (const auto& [a, b] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 4}, {4, 5}, {5, 7}}) {
      Tensor out = Tensor::empty({B, (b - a) * p, W}, DType::f64);
      up_pool_forward(weight, p, c.slice(1, a, b).contiguous(), skip.slice(1, a * p, b * p).contiguous(), out,
                      history);
      chunked.slice(1, a * p, b * p).copy_(out);
    }
    EXPECT_LT(max_rel_error(chunked, whole), 1e-14) << "p " << p;
  }
}

TEST(UNetPool, BadShapesGiveClearErrors) {
  Tensor x = Tensor::zeros({2, 6, 3}, DType::f64), w = Tensor::zeros({5, 12}, DType::f64);
  Tensor out = Tensor::zeros({2, 1, 5}, DType::f64);
  try {
    down_pool_forward(w, 4, x, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of the pooling factor 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(down_pool_forward(Tensor::zeros({5, 7}, DType::f64), 2, x, Tensor::zeros({2, 3, 5}, DType::f64)), Error);
  EXPECT_THROW(down_pool_forward(Tensor::zeros({5, 6}, DType::f64), 2, x, Tensor::zeros({2, 2, 5}, DType::f64)), Error);
  EXPECT_THROW(down_pool_forward(w, 0, x, out), Error);
  Tensor c = Tensor::zeros({2, 3, 5}, DType::f64), skip = Tensor::zeros({2, 6, 3}, DType::f64);
  EXPECT_THROW(up_pool_forward(Tensor::zeros({6, 4}, DType::f64), 2, c, skip, Tensor::zeros({2, 6, 3}, DType::f64)),
               Error);
  EXPECT_THROW(up_pool_forward(Tensor::zeros({6, 5}, DType::f64), 2, c, Tensor::zeros({2, 7, 3}, DType::f64),
                               Tensor::zeros({2, 7, 3}, DType::f64)),
               Error);
  EXPECT_THROW(up_pool_forward(Tensor::zeros({6, 5}, DType::f64), 2, c, skip, Tensor::zeros({2, 6, 3}, DType::f64),
                               Tensor::zeros({2, 1, 3}, DType::f64)),
               Error);
}

}  // namespace
}  // namespace ms::test
