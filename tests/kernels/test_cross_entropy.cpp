// CPU softmax cross-entropy: per-row losses, lse and argmax against a naive computation (ignored rows,
// strided rows, large logits), the backward against finite differences of grad_scale * sum(losses), errors.
#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/elementwise.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;
constexpr int kIgnore = -100;

TEST(CrossEntropy, ForwardMatchesNaive) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    const int64_t R = 13, V = 37;
    Tensor logits = test::rand_row_strided({R, V}, rng, dt);
    scale(logits, 8.0);
    logits.set_item(0, 300.0);  // exp would overflow without the max shift
    for (int64_t v = 0; v < V; ++v) logits.set_item(V + v, v == 3 || v == 5 ? 9.0 : -1.0);  // row 1: a tied max
    Tensor targets = test::rand_ints({R}, rng, 0, V);
    targets.set_item(2, kIgnore);
    targets.set_item(7, kIgnore);
    Tensor losses = Tensor::empty({R}, dt), lse = Tensor::empty({R}, dt), pred = Tensor::empty({R}, DType::i32);
    for (const Tensor& t : {losses, lse, pred}) test::poison(t);
    cross_entropy_forward(logits, targets, kIgnore, losses, lse, pred);
    const std::vector<double> x = values(logits), t = values(targets), l = values(losses), s = values(lse),
                              p = values(pred);
    for (int64_t r = 0; r < R; ++r) {
      double m = x[r * V];
      int64_t arg = 0;
      for (int64_t v = 1; v < V; ++v)
        if (x[r * V + v] > m) m = x[r * V + (arg = v)];
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(x[r * V + v] - m);
      const double ref_lse = m + std::log(sum);
      EXPECT_NEAR(s[r], ref_lse, test::tol(dt) * std::abs(ref_lse));
      const double ref_loss = t[r] == kIgnore ? 0.0 : ref_lse - x[r * V + static_cast<int64_t>(t[r])];
      EXPECT_NEAR(l[r], ref_loss, test::tol(dt) * (1 + std::abs(ref_lse)));
      EXPECT_EQ(p[r], arg) << "row " << r;
    }
    EXPECT_EQ(p[1], 3);  // lowest index wins the tie
    EXPECT_EQ(l[2], 0.0);
    // pred may be left out.
    cross_entropy_forward(logits, targets, kIgnore, losses, lse, Tensor());
  }
}

TEST(CrossEntropy, BackwardMatchesFiniteDifferences) {
  Rng rng(test::test_seed());
  const DType dt = DType::f64;
  const int64_t R = 9, V = 11;
  Tensor storage = test::rand_uniform({R, V + 4}, rng, -3, 3, dt);
  Tensor logits = storage.slice(1, 2, 2 + V);
  Tensor targets = test::rand_ints({R}, rng, 0, V);
  targets.set_item(4, kIgnore);
  targets.set_item(8, kIgnore);
  Tensor losses = Tensor::empty({R}, dt), lse = Tensor::empty({R}, dt);
  const double grad_scale = 1.0 / 7;  // mean over the 7 valid rows
  Tensor weights = Tensor::full({R}, grad_scale, dt);
  auto forward = [&] { cross_entropy_forward(logits, targets, kIgnore, losses, lse, Tensor()); };
  forward();
  Tensor dstorage = Tensor::zeros({R, V + 4}, dt);
  Tensor dlogits = dstorage.slice(1, 2, 2 + V);
  test::poison(dlogits);
  cross_entropy_backward(logits, targets, kIgnore, lse, grad_scale, dlogits);
  EXPECT_LT(test::fd_check(forward, losses, weights, storage, dstorage, rng), test::kFdTol);
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(dlogits.item(4 * V + v), 0.0);  // ignored row: zero gradient
}

TEST(CrossEntropy, RejectsBadTargetsAndShapes) {
  Tensor logits = Tensor::zeros({3, 5}), losses = Tensor::empty({3}), lse = Tensor::empty({3});
  for (int bad : {5, -1, 99}) {
    Tensor targets = Tensor::from<int32_t>({0, bad, 1}, {3});
    EXPECT_THROW(cross_entropy_forward(logits, targets, kIgnore, losses, lse, Tensor()), Error) << bad;
    EXPECT_THROW(cross_entropy_backward(logits, targets, kIgnore, lse, 1.0, Tensor::empty({3, 5})), Error) << bad;
  }
  Tensor targets = Tensor::from<int32_t>({0, 4, 1}, {3});
  try {
    cross_entropy_forward(logits, Tensor::from<int32_t>({0, 7, 1}, {3}), kIgnore, losses, lse, Tensor());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy_forward(logits, targets.to(DType::i64), kIgnore, losses, lse, Tensor()), Error);
  EXPECT_THROW(cross_entropy_forward(logits, Tensor::from<int32_t>({0, 1}, {2}), kIgnore, losses, lse, Tensor()),
               Error);
  EXPECT_THROW(cross_entropy_forward(logits, targets, kIgnore, Tensor::empty({3}, DType::f64), lse, Tensor()), Error);
  EXPECT_THROW(cross_entropy_forward(logits.to(DType::bf16), targets, kIgnore, losses, lse, Tensor()), Error);
  EXPECT_THROW(cross_entropy_forward(logits, targets, kIgnore, losses, lse, Tensor::empty({3}, DType::f32)), Error);
}

}  // namespace
}  // namespace ms
