// CPU embedding: lookup against direct indexing (strided ids, as a shifted slice of a token batch), the
// weight gradient against finite differences and a naive scatter (+= semantics), determinism, errors.
#include "kernels/embedding.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

TEST(Embedding, ForwardCopiesRowsForStridedIds) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    const int64_t V = 11, E = 6;
    Tensor w = test::rand_uniform({V, E}, rng, -1, 1, dt);
    Tensor tokens = test::rand_ints({3, 8}, rng, 0, V);
    Tensor ids = tokens.slice(1, 1, 8);  // inputs shifted by one: not contiguous
    Tensor out = Tensor::empty({3, 7, E}, dt);
    test::poison(out);
    embedding_forward(w, ids, out);
    const std::vector<double> wv = values(w), ov = values(out), iv = values(ids);
    for (int64_t s = 0; s < 21; ++s)
      for (int64_t e = 0; e < E; ++e) ASSERT_EQ(ov[s * E + e], wv[static_cast<int64_t>(iv[s]) * E + e]);
  }
}

TEST(Embedding, BackwardAccumulatesAndMatchesFiniteDifferences) {
  Rng rng(test::test_seed());
  const int64_t V = 9, E = 4;
  Tensor w = test::rand_uniform({V, E}, rng, -1, 1, DType::f64);
  Tensor ids = test::rand_ints({5, 6}, rng, 0, V);
  ids.set_item(0, 3);
  ids.set_item(1, 3);  // repeated ids must add up
  Tensor out = Tensor::empty({5, 6, E}, DType::f64);
  Tensor dout = test::rand_uniform({5, 6, E}, rng, -1, 1, DType::f64);
  Tensor dw = Tensor::zeros({V, E}, DType::f64);
  embedding_backward(ids, dout, dw);
  const double err = test::fd_check([&] { embedding_forward(w, ids, out); }, out, dout, w, dw, rng);
  EXPECT_LT(err, test::kFdTol);

  // += semantics: a second call adds the same amount again on top of a pre-filled gradient.
  Tensor start = test::rand_uniform({V, E}, rng, -1, 1, DType::f64);
  Tensor acc = start.clone();
  embedding_backward(ids, dout, acc);
  embedding_backward(ids, dout, acc);
  const std::vector<double> a = values(acc), s0 = values(start), g = values(dw);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], s0[i] + 2 * g[i], 1e-12);
}

TEST(Embedding, BackwardIsDeterministicInF32) {
  Rng rng(test::test_seed());
  const int64_t V = 5, E = 64;  // few ids, many repeats: order of additions matters in f32
  Tensor ids = test::rand_ints({4096}, rng, 0, V);
  Tensor dout = test::rand_normal({4096, E}, rng);
  Tensor a = Tensor::zeros({V, E}), b = Tensor::zeros({V, E});
  embedding_backward(ids, dout, a);
  embedding_backward(ids, dout, b);
  EXPECT_EQ(values(a), values(b));
  // And it is the naive scatter (accumulated in double).
  const std::vector<double> iv = values(ids), gv = values(dout), av = values(a);
  std::vector<double> ref(V * E, 0.0);
  for (int64_t s = 0; s < 4096; ++s)
    for (int64_t e = 0; e < E; ++e) ref[static_cast<int64_t>(iv[s]) * E + e] += gv[s * E + e];
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(av[i], ref[i], 1e-5 * (1 + std::abs(ref[i])));
}

TEST(Embedding, RejectsOutOfRangeIdsAndBadShapes) {
  Tensor w = Tensor::zeros({4, 3});
  Tensor ids = Tensor::from<int32_t>({0, 4}, {2});
  Tensor out = Tensor::empty({2, 3});
  EXPECT_THROW(embedding_forward(w, ids, out), Error);
  EXPECT_THROW(embedding_forward(w, Tensor::from<int32_t>({-1, 0}, {2}), out), Error);
  EXPECT_THROW(embedding_backward(ids, out, Tensor::zeros({4, 3})), Error);
  Tensor good = Tensor::from<int32_t>({0, 3}, {2});
  EXPECT_THROW(embedding_forward(w, good, Tensor::empty({2, 4})), Error);                // wrong E
  EXPECT_THROW(embedding_forward(w, good.to(DType::i64), out), Error);                   // ids must be i32
  EXPECT_THROW(embedding_forward(w, good, Tensor::empty({2, 3}, DType::f64)), Error);    // dtype mismatch
  EXPECT_THROW(embedding_forward(w.to(DType::bf16), good, out.to(DType::bf16)), Error);  // bf16 on CPU
  try {
    embedding_forward(w, ids, out);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ms
