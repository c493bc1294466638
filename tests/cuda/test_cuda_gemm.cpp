// CUDA GEMM (cuBLAS) against the CPU twin in f64: every transpose combination and memory layout
// (contiguous, row-strided slices, column-major views, layouts cuBLAS cannot address), batching with
// broadcast and with reduction into a 2-d C (folded and per-batch paths), alpha/beta accumulation, K = 0,
// TF32 and bf16. Outputs start as NaN; elements of C's storage outside the view must stay NaN.
#include <cstring>

#include "kernels/gemm.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

enum class Lay { contiguous, row_strided, column_major, unaddressable, batch_interleaved };
const char* lay_name(Lay l) {
  switch (l) {
    case Lay::contiguous: return "contiguous";
    case Lay::row_strided: return "row_strided";
    case Lay::column_major: return "column_major";
    case Lay::unaddressable: return "unaddressable";
    case Lay::batch_interleaved: return "batch_interleaved";
  }
  return "?";
}

// Storage behind a logical (r, c) or (b, r, c) matrix in layout l, and the view of it.
Shape storage_shape(const Shape& s, Lay l) {
  const bool b3 = s.size() == 3;
  const int64_t r = s[s.size() - 2], c = s.back();
  Shape out = b3 ? Shape{s[0]} : Shape{};
  auto with = [&](Shape tail) {
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  };
  switch (l) {
    case Lay::contiguous: return s;
    case Lay::row_strided: return with({r, c + 5});
    case Lay::column_major: return with({c, r});
    case Lay::unaddressable: return with({r, c, 2});
    case Lay::batch_interleaved: return b3 ? Shape{r, s[0], c} : s;
  }
  return s;
}
Tensor view_of(const Tensor& st, const Shape& s, Lay l) {
  switch (l) {
    case Lay::contiguous: return st;
    case Lay::row_strided: return st.slice(-1, 2, 2 + s.back());
    case Lay::column_major: return st.transpose(-1, -2);
    case Lay::unaddressable: return st.select(-1, 1);
    case Lay::batch_interleaved: return s.size() == 3 ? st.transpose(0, 1) : st;
  }
  return st;
}

// Rounds f32 values to TF32 (10 explicit mantissa bits), so TF32 tensor cores see them exactly.
Tensor tf32_exact(const Tensor& t) {
  Tensor c = t.contiguous().clone();
  float* p = c.data<float>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    uint32_t u;
    std::memcpy(&u, &p[i], 4);
    u &= 0xffffe000u;
    std::memcpy(&p[i], &u, 4);
  }
  return c;
}

struct GemmCase {
  Shape a, b, c;  // logical op(A), op(B), C shapes: (.., M, K), (.., K, N), (.., M, N)
  bool ta = false, tb = false;
  Lay la = Lay::contiguous, lb = Lay::contiguous, lc = Lay::contiguous;
  double alpha = 1.0, beta = 0.0;
  DType dt = DType::f32;
  bool tf32_exact_inputs = false;
};

// Stored shape of an operand whose logical shape is s, transposed when t.
Shape stored(Shape s, bool t) {
  if (t) std::swap(s[s.size() - 1], s[s.size() - 2]);
  return s;
}

// Runs one case on the GPU and on the CPU (f64); returns max_rel_error with the given floor.
double run_case(const GemmCase& g, Rng& rng, double floor, double* rel_l2 = nullptr) {
  const Shape sa = stored(g.a, g.ta), sb = stored(g.b, g.tb);
  Tensor A = rand_uniform(storage_shape(sa, g.la), rng, -1, 1, g.dt);
  Tensor B = rand_uniform(storage_shape(sb, g.lb), rng, -1, 1, g.dt);
  if (g.tf32_exact_inputs) {
    A = tf32_exact(A);
    B = tf32_exact(B);
  }
  const Shape sc = storage_shape(g.c, g.lc);
  Tensor C0 = rand_uniform(sc, rng, -1, 1, g.dt);
  Tensor Cg = g.beta == 0.0 ? gpu_poisoned(sc, g.dt) : gpu(C0);
  Tensor Ag = gpu(A), Bg = gpu(B);
  gemm(view_of(Ag, sa, g.la), g.ta, view_of(Bg, sb, g.lb), g.tb, view_of(Cg, g.c, g.lc), g.alpha, g.beta);

  Tensor Cr = g.beta == 0.0 ? Tensor::zeros(sc, DType::f64) : host64(C0);
  cpu::gemm(view_of(host64(A), sa, g.la), g.ta, view_of(host64(B), sb, g.lb), g.tb, view_of(Cr, g.c, g.lc), g.alpha,
            g.beta);
  Tensor got = view_of(Cg, g.c, g.lc), want = view_of(Cr, g.c, g.lc);
  if (rel_l2) *rel_l2 = rel_l2_error(got, want);
  if (g.beta == 0.0) {
    // No writes outside the view: zero the view in a host copy of the storage, the rest must be NaN.
    Tensor hs = Cg.to(Device::cpu).to(DType::f64);
    view_of(hs, g.c, g.lc).fill_(0.0);
    int64_t touched = 0;
    for (int64_t i = 0; i < hs.numel(); ++i) touched += !std::isnan(hs.item(i)) && hs.item(i) != 0.0;
    EXPECT_EQ(touched, 0) << "elements outside C's view were written";
  }
  return max_rel_error(got, want, floor);
}

struct PrecisionGuard {
  GemmPrecision saved = gemm_precision();
  ~PrecisionGuard() { set_gemm_precision(saved); }
};

TEST(CudaGemm, EveryTransposeAndLayoutF32) {
  MS_SKIP_WITHOUT_GPU();
  PrecisionGuard guard;
  set_gemm_precision(GemmPrecision::fp32);
  Rng rng(test_seed());
  const Lay lays[] = {Lay::contiguous, Lay::row_strided, Lay::column_major, Lay::unaddressable};
  const int64_t M = 37, N = 53, K = 29;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (Lay la : lays)
        for (Lay lb : lays)
          for (Lay lc : lays) {
            GemmCase g;
            g.a = {M, K};
            g.b = {K, N};
            g.c = {M, N};
            g.ta = ta;
            g.tb = tb;
            g.la = la;
            g.lb = lb;
            g.lc = lc;
            g.alpha = 1.25;
            const double err = run_case(g, rng, kFloorReduction);
            EXPECT_LT(err, kTolF32) << "ta=" << ta << " tb=" << tb << " A " << lay_name(la) << " B " << lay_name(lb)
                                    << " C " << lay_name(lc);
          }
}

TEST(CudaGemm, LargerShapesAndAccumulation) {
  MS_SKIP_WITHOUT_GPU();
  PrecisionGuard guard;
  set_gemm_precision(GemmPrecision::fp32);
  Rng rng(test_seed());
  // Sizes that are not multiples of any tile; beta != 0 accumulates into C (gradient accumulation).
  for (const auto& [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{300, 257, 1000}, {1, 1537, 129}, {1000, 1, 77}}) {
    for (double beta : {0.0, 1.0, -0.5}) {
      GemmCase g;
      g.a = {M, K};
      g.b = {K, N};
      g.c = {M, N};
      g.ta = M != 1;
      g.tb = N % 2 == 1;
      g.alpha = 0.7;
      g.beta = beta;
      EXPECT_LT(run_case(g, rng, kFloorReduction), kTolF32) << M << "x" << N << "x" << K << " beta " << beta;
    }
  }
}

TEST(CudaGemm, BatchedWithBroadcast) {
  MS_SKIP_WITHOUT_GPU();
  PrecisionGuard guard;
  set_gemm_precision(GemmPrecision::fp32);
  Rng rng(test_seed());
  const int64_t b = 3, M = 41, N = 23, K = 19;
  const Lay lays[] = {Lay::contiguous, Lay::row_strided, Lay::column_major, Lay::batch_interleaved};
  for (int mode = 0; mode < 3; ++mode)  // 0: A and B batched; 1: B shared (linear layer); 2: A shared
    for (Lay l : lays)
      for (int t = 0; t < 4; ++t) {
        GemmCase g;
        g.a = mode == 2 ? Shape{M, K} : Shape{b, M, K};
        g.b = mode == 1 ? Shape{K, N} : Shape{b, K, N};
        g.c = {b, M, N};
        g.ta = t & 1;
        g.tb = t & 2;
        g.la = mode == 2 && l == Lay::batch_interleaved ? Lay::contiguous : l;
        g.lb = mode == 1 && l == Lay::batch_interleaved ? Lay::contiguous : l;
        g.lc = l;
        g.alpha = -0.9;
        g.beta = t == 3 ? 0.5 : 0.0;
        EXPECT_LT(run_case(g, rng, kFloorReduction), kTolF32) << "mode " << mode << " layout " << lay_name(l) << " t " << t;
      }
}

TEST(CudaGemm, BatchReductionInto2dC) {
  MS_SKIP_WITHOUT_GPU();
  PrecisionGuard guard;
  set_gemm_precision(GemmPrecision::fp32);
  Rng rng(test_seed());
  // dW (out, in) = sum_b dY[b]^T X[b]: contiguous batches fold into one GEMM over K' = batch * L; strided
  // or interleaved batches take the per-batch path; a shared operand too.
  const int64_t b = 4, L = 33, out = 17, in = 29;
  const Lay lays[] = {Lay::contiguous, Lay::row_strided, Lay::batch_interleaved, Lay::column_major};
  for (Lay l : lays)
    for (double beta : {0.0, 1.0}) {
      GemmCase g;
      g.a = {b, out, L};  // op(A) = dY[b]^T
      g.ta = true;
      g.b = {b, L, in};
      g.c = {out, in};
      g.la = g.lb = l;
      g.beta = beta;
      EXPECT_LT(run_case(g, rng, kFloorReduction), kTolF32) << lay_name(l) << " beta " << beta;
      GemmCase s = g;  // shared B: sum_b op(A[b]) B
      s.b = {L, in};
      s.lb = Lay::contiguous;
      EXPECT_LT(run_case(s, rng, kFloorReduction), kTolF32) << "shared B, " << lay_name(l) << " beta " << beta;
    }
}

TEST(CudaGemm, EmptyInnerDimensionScalesC) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (double beta : {0.0, 0.5}) {
    GemmCase g;
    g.a = {7, 0};
    g.b = {0, 5};
    g.c = {7, 5};
    g.beta = beta;
    EXPECT_LT(run_case(g, rng, kFloorProduct), kTolF32) << "beta " << beta;
  }
}

TEST(CudaGemm, Tf32) {
  MS_SKIP_WITHOUT_GPU();
  PrecisionGuard guard;
  set_gemm_precision(GemmPrecision::tf32);
  Rng rng(test_seed());
  for (int t = 0; t < 4; ++t) {
    GemmCase g;
    g.a = {2, 129, 515};
    g.b = {2, 515, 67};
    g.c = {2, 129, 67};
    g.ta = t & 1;
    g.tb = t & 2;
    g.lc = Lay::row_strided;
    // Inputs exact in TF32: the check isolates layout and accumulation (f32) from TF32's input rounding.
    g.tf32_exact_inputs = true;
    EXPECT_LT(run_case(g, rng, kFloorReduction), kTolTF32) << "t " << t;
    // Arbitrary f32 inputs: TF32 keeps 10 mantissa bits, so products carry ~3e-4 relative error each.
    g.tf32_exact_inputs = false;
    double l2 = 0;
    run_case(g, rng, kFloorReduction, &l2);
    EXPECT_LT(l2, 2 * kTolTF32) << "t " << t << " (relative L2 error with TF32-rounded inputs)";
  }
}

TEST(CudaGemm, Bf16) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  const Lay lays[] = {Lay::contiguous, Lay::row_strided, Lay::column_major};
  for (int t = 0; t < 4; ++t)
    for (Lay l : lays) {
      GemmCase g;
      g.a = {3, 65, 300};
      g.b = {300, 47};
      g.c = {3, 65, 47};
      g.ta = t & 1;
      g.tb = t & 2;
      g.la = g.lb = g.lc = l;
      g.dt = DType::bf16;
      g.beta = t == 3 ? 1.0 : 0.0;
      EXPECT_LT(run_case(g, rng, kFloorProduct), kTolBF16) << "t " << t << " " << lay_name(l);
    }
}

TEST(CudaGemm, RejectsMismatchedShapes) {
  MS_SKIP_WITHOUT_GPU();
  Tensor A = Tensor::zeros({4, 5}, DType::f32, Device::cuda), B = Tensor::zeros({6, 3}, DType::f32, Device::cuda);
  Tensor C = Tensor::zeros({4, 3}, DType::f32, Device::cuda);
  EXPECT_THROW(gemm(A, false, B, false, C, 1.0, 0.0), Error);
}

}  // namespace
}  // namespace ms
