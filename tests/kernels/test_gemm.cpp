// CPU GEMM: every transpose combination and memory layout (row-strided slices, column-major views, layouts
// BLAS cannot address), batching with broadcast and batch reduction, alpha/beta, against a naive double
// loop; the gradients of a linear map computed with gemm against finite differences.
#include <cmath>
#include <limits>

#include "kernels/gemm.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

// Memory layouts a logical matrix (or batch of matrices) can have.
enum class Layout { contiguous, row_strided, column_major, unaddressable, batch_interleaved };
const Layout kLayouts[] = {Layout::contiguous, Layout::row_strided, Layout::column_major, Layout::unaddressable,
                           Layout::batch_interleaved};
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::contiguous: return "contiguous";
    case Layout::row_strided: return "row_strided";
    case Layout::column_major: return "column_major";
    case Layout::unaddressable: return "unaddressable";
    case Layout::batch_interleaved: return "batch_interleaved";
  }
  return "?";
}

// The storage shape behind a logical (r, c) or (b, r, c) tensor in layout l, and the view of it.
Shape storage_shape(const Shape& s, Layout l) {
  const bool b3 = s.size() == 3;
  const int64_t r = s[s.size() - 2], c = s.back();
  Shape lead = b3 ? Shape{s[0]} : Shape{};
  auto with = [&](Shape tail) {
    Shape out = lead;
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  };
  switch (l) {
    case Layout::contiguous: return s;
    case Layout::row_strided: return with({r, c + 5});
    case Layout::column_major: return with({c, r});
    case Layout::unaddressable: return with({r, c, 2});
    case Layout::batch_interleaved: return b3 ? Shape{r, s[0], c} : s;
  }
  return s;
}
Tensor view_of(const Tensor& storage, const Shape& s, Layout l) {
  const int64_t c = s.back();
  switch (l) {
    case Layout::contiguous: return storage;
    case Layout::row_strided: return storage.slice(-1, 2, 2 + c);
    case Layout::column_major: return storage.transpose(-1, -2);
    case Layout::unaddressable: return storage.select(-1, 1);  // both strides >= 2: BLAS cannot take it
    case Layout::batch_interleaved: return s.size() == 3 ? storage.transpose(0, 1) : storage;
  }
  return storage;
}

struct Operand {
  Tensor storage, view;
};
Operand make(const Shape& s, Layout l, DType dt, Rng& rng) {
  Tensor st = test::rand_uniform(storage_shape(s, l), rng, -1, 1, dt);
  Tensor v = view_of(st, s, l);
  EXPECT_EQ(v.shape(), s);
  return {st, v};
}
Operand make_zeros(const Shape& s, Layout l, DType dt) {
  Tensor st = Tensor::zeros(storage_shape(s, l), dt);
  return {st, view_of(st, s, l)};
}

// Naive reference: C = alpha * sum over the products + beta * C0, following gemm.h's batch rules.
std::vector<double> naive(const Tensor& A, bool ta, const Tensor& B, bool tb, const std::vector<double>& C0,
                          const Shape& cshape, double alpha, double beta) {
  const std::vector<double> a = values(A), b = values(B);
  const int64_t M = cshape[cshape.size() - 2], N = cshape.back();
  const int64_t K = ta ? A.size(-2) : A.size(-1);
  const int64_t batch = std::max({A.ndim() == 3 ? A.size(0) : 1, B.ndim() == 3 ? B.size(0) : 1,
                                  cshape.size() == 3 ? cshape[0] : 1});
  const int64_t ar = A.size(-2), ac = A.size(-1), br = B.size(-2), bc = B.size(-1);
  std::vector<double> c(C0.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = beta * C0[i];
  for (int64_t n = 0; n < batch; ++n) {
    const double* pa = a.data() + (A.ndim() == 3 ? n * ar * ac : 0);
    const double* pb = b.data() + (B.ndim() == 3 ? n * br * bc : 0);
    double* pc = c.data() + (cshape.size() == 3 ? n * M * N : 0);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += (ta ? pa[k * ac + i] : pa[i * ac + k]) * (tb ? pb[j * bc + k] : pb[k * bc + j]);
        pc[i * N + j] += alpha * s;
      }
  }
  return c;
}

double max_rel(const std::vector<double>& got, const std::vector<double>& ref) {
  double scale = 0;
  for (double r : ref) scale = std::max(scale, std::abs(r));
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(got[i] - ref[i]) / (scale + 1e-300));
  }
  return worst;
}

// Logical shapes of A and B for op(A) (M, K), op(B) (K, N) with optional batch dims.
Shape shape_a(int64_t M, int64_t K, bool ta, int64_t batch) {
  Shape s = ta ? Shape{K, M} : Shape{M, K};
  if (batch) s.insert(s.begin(), batch);
  return s;
}
Shape shape_b(int64_t K, int64_t N, bool tb, int64_t batch) {
  Shape s = tb ? Shape{N, K} : Shape{K, N};
  if (batch) s.insert(s.begin(), batch);
  return s;
}

struct BatchCase {
  const char* name;
  int64_t a_batch, b_batch, c_batch;  // 0 = 2-d
};
const BatchCase kBatchCases[] = {{"plain", 0, 0, 0},     {"batched", 3, 3, 3},      {"broadcast_B", 3, 0, 3},
                                 {"broadcast_A", 0, 3, 3}, {"reduce", 3, 3, 0},      {"reduce_A3", 3, 0, 0},
                                 {"reduce_B3", 0, 3, 0}};

TEST(Gemm, MatchesNaiveForEveryTransposeLayoutAndBatchRule) {
  Rng rng(test::test_seed());
  const int64_t M = 7, K = 13, N = 5;
  int cases = 0;
  for (DType dt : test::float_dtypes())
    for (const BatchCase& bc : kBatchCases)
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          for (Layout la : kLayouts)
            for (Layout lc : {Layout::contiguous, Layout::row_strided, Layout::column_major, Layout::unaddressable}) {
              // B takes a layout that varies with A's so every pairing shows up across the loop.
              const Layout lb = kLayouts[(static_cast<int>(la) + static_cast<int>(lc) + ta) % 5];
              Operand A = make(shape_a(M, K, ta, bc.a_batch), la, dt, rng);
              Operand B = make(shape_b(K, N, tb, bc.b_batch), lb, dt, rng);
              Shape cs = bc.c_batch ? Shape{bc.c_batch, M, N} : Shape{M, N};
              Operand C = make(cs, lc, dt, rng);
              const std::vector<double> c0 = values(C.view);
              const double alpha = 0.75, beta = (cases % 3 == 0) ? 0.0 : -0.5;
              if (beta == 0.0) test::poison(C.view);  // beta == 0 must not read C
              gemm(A.view, ta, B.view, tb, C.view, alpha, beta);
              const double err = max_rel(values(C.view), naive(A.view, ta, B.view, tb, c0, cs, alpha, beta));
              EXPECT_LT(err, test::tol(dt) * 4) << bc.name << " dt=" << dtype_name(dt) << " ta=" << ta << " tb=" << tb
                                                << " A:" << layout_name(la) << " B:" << layout_name(lb)
                                                << " C:" << layout_name(lc);
              ++cases;
            }
  EXPECT_GT(cases, 500);
}

TEST(Gemm, LeavesElementsOutsideTheViewUntouched) {
  Rng rng(test::test_seed());
  Operand A = make({4, 6}, Layout::row_strided, DType::f32, rng);
  Operand B = make({6, 3}, Layout::contiguous, DType::f32, rng);
  Operand C = make({4, 3}, Layout::row_strided, DType::f32, rng);
  const std::vector<double> before = values(C.storage);
  gemm(A.view, false, B.view, false, C.view);
  const std::vector<double> after = values(C.storage);
  const int64_t W = C.storage.size(1);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < W; ++j)
      if (j < 2 || j >= 5) {
        EXPECT_EQ(after[i * W + j], before[i * W + j]) << i << "," << j;
      }
}

TEST(Gemm, EmptyInnerDimensionScalesC) {
  Tensor A = Tensor::zeros({3, 0}), B = Tensor::zeros({0, 4});
  Tensor C = Tensor::full({3, 4}, 2.0);
  gemm(A, false, B, false, C, 1.0, 0.5);
  for (double v : values(C)) EXPECT_EQ(v, 1.0);
  test::poison(C);
  gemm(A, false, B, false, C, 1.0, 0.0);
  for (double v : values(C)) EXPECT_EQ(v, 0.0);
}

// Gradients of loss = dot(op(A) @ op(B), W), computed with gemm as a linear layer's backward does, against
// central differences, for every transpose pair, layouts and batch rules (including the reduction that
// gives a shared weight's gradient).
TEST(Gemm, LinearMapGradientsMatchFiniteDifferences) {
  Rng rng(test::test_seed());
  const int64_t M = 3, K = 4, N = 5;
  const DType dt = DType::f64;
  double worst = 0;
  for (const BatchCase& bc : kBatchCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Layout la = ta ? Layout::column_major : Layout::row_strided;
        const Layout lb = tb ? Layout::unaddressable : Layout::batch_interleaved;
        Operand A = make(shape_a(M, K, ta, bc.a_batch), la, dt, rng);
        Operand B = make(shape_b(K, N, tb, bc.b_batch), lb, dt, rng);
        Shape cs = bc.c_batch ? Shape{bc.c_batch, M, N} : Shape{M, N};
        Tensor C = Tensor::empty(cs, dt);
        Tensor W = test::rand_uniform(cs, rng, -1, 1, dt);
        auto forward = [&] { gemm(A.view, ta, B.view, tb, C); };
        // dA: d op(A) = W op(B)^T ; dA = (W op(B)^T)^T = op(B) W^T when trans_a.
        Operand dA = make_zeros(A.view.shape(), la, dt);
        test::poison(dA.view);
        if (!ta) gemm(W, false, B.view, !tb, dA.view);
        else gemm(B.view, tb, W, true, dA.view);
        // dB: d op(B) = op(A)^T W ; dB = W^T op(A) when trans_b.
        Operand dB = make_zeros(B.view.shape(), lb, dt);
        test::poison(dB.view);
        if (!tb) gemm(A.view, !ta, W, false, dB.view);
        else gemm(W, true, A.view, ta, dB.view);
        const double ea = test::fd_check(forward, C, W, A.storage, dA.storage, rng);
        const double eb = test::fd_check(forward, C, W, B.storage, dB.storage, rng);
        EXPECT_LT(ea, test::kFdTol) << bc.name << " dA ta=" << ta << " tb=" << tb;
        EXPECT_LT(eb, test::kFdTol) << bc.name << " dB ta=" << ta << " tb=" << tb;
        worst = std::max({worst, ea, eb});
      }
  RecordProperty("worst_fd_error", std::to_string(worst));
}

TEST(Gemm, IsBitIdenticalRunToRun) {
  Rng rng(test::test_seed());
  Tensor A = test::rand_uniform({4, 96, 130}, rng), B = test::rand_uniform({4, 96, 70}, rng);
  Tensor C1 = Tensor::empty({130, 70}), C2 = Tensor::empty({130, 70});
  gemm(A, true, B, false, C1);
  gemm(A, true, B, false, C2);
  EXPECT_EQ(values(C1), values(C2));
}

TEST(Gemm, RejectsBadArguments) {
  Tensor A = Tensor::zeros({3, 4}), B = Tensor::zeros({4, 5}), C = Tensor::zeros({3, 5});
  EXPECT_THROW(gemm(A, true, B, false, C), Error);                                    // inner dims differ
  EXPECT_THROW(gemm(A, false, B, false, Tensor::zeros({3, 6})), Error);               // wrong C
  EXPECT_THROW(gemm(A, false, B.to(DType::f64), false, C), Error);                    // mixed dtypes
  EXPECT_THROW(gemm(A.to(DType::bf16), false, B.to(DType::bf16), false, C.to(DType::bf16)), Error);  // bf16 on CPU
  EXPECT_THROW(gemm(Tensor::zeros({2, 3, 4}), false, Tensor::zeros({3, 4, 5}), false, Tensor::zeros({2, 3, 5})),
               Error);  // batch sizes differ
  EXPECT_THROW(gemm(Tensor::zeros({12}), false, B, false, C), Error);  // 1-d operand
  try {
    gemm(A.to(DType::i32), false, B.to(DType::i32), false, C.to(DType::i32));
    ADD_FAILURE() << "i32 gemm accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32 and f64"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ms
