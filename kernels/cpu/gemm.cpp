// CPU GEMM through OpenBLAS (cblas_sgemm / cblas_dgemm). Every operand is described to BLAS as it lies in
// memory (row- or column-major, any leading dimension, transposes folded into the layout); a contiguous
// copy is made only for a matrix that BLAS cannot address (neither dimension has unit stride, or rows
// overlap). Batches that are evenly spaced are folded into one larger call.
#include <cblas.h>

#include <limits>
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/gemm.h"

namespace ms::cpu {
namespace {

// A logical matrix op(X) as (rows, cols) with element strides; batch stride bs (0 when shared).
template <class T>
struct Mat {
  T* p = nullptr;
  int64_t rows = 0, cols = 0, rs = 0, cs = 0, bs = 0;
  Mat transposed() const { return {p, cols, rows, cs, rs, bs}; }
  Mat batch(int64_t b) const { return {p + b * bs, rows, cols, rs, cs, bs}; }
};

template <class T>
Mat<T> logical(const Tensor& t, bool trans) {
  const bool batched = t.ndim() == 3;
  const int r = batched ? 1 : 0;
  Mat<T> m{t.data<T>(), t.size(r), t.size(r + 1), t.stride(r), t.stride(r + 1), batched ? t.stride(0) : 0};
  return trans ? m.transposed() : m;
}

// How BLAS sees a matrix under a given storage order: `trans` relative to that order and the leading
// dimension. ok = false when it cannot be described (then a contiguous copy is used).
struct BlasView {
  bool ok = false;
  CBLAS_TRANSPOSE trans = CblasNoTrans;
  int64_t ld = 1;
};

// A dimension of extent `n` and stride `s` can serve as the leading one over a minor extent `minor`.
static bool leading_ok(int64_t n, int64_t s, int64_t minor) { return n <= 1 || s >= std::max<int64_t>(1, minor); }
static int64_t leading_of(int64_t n, int64_t s, int64_t minor) { return n <= 1 ? std::max<int64_t>(1, minor) : s; }

template <class T>
BlasView blas_view(const Mat<T>& m, bool row_major) {
  // Row-major: (rows, cols) with unit column stride is NoTrans; unit row stride means the memory holds the
  // (cols, rows) row-major transpose. Column-major mirrors this.
  const int64_t major_n = row_major ? m.rows : m.cols, major_s = row_major ? m.rs : m.cs;
  const int64_t minor_n = row_major ? m.cols : m.rows, minor_s = row_major ? m.cs : m.rs;
  if ((minor_n <= 1 || minor_s == 1) && leading_ok(major_n, major_s, minor_n))
    return {true, CblasNoTrans, leading_of(major_n, major_s, minor_n)};
  if ((major_n <= 1 || major_s == 1) && leading_ok(minor_n, minor_s, major_n))
    return {true, CblasTrans, leading_of(minor_n, minor_s, major_n)};
  return {};
}

inline void blas_gemm(CBLAS_ORDER o, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                      int64_t ldc) {
  cblas_sgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void blas_gemm(CBLAS_ORDER o, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K,
                      double alpha, const double* A, int64_t lda, const double* B, int64_t ldb, double beta, double* C,
                      int64_t ldc) {
  cblas_dgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Copies a logical matrix into row-major contiguous storage (or back out of it).
template <class T>
Mat<T> pack(const Mat<T>& m, std::vector<T>& buf) {
  buf.resize(static_cast<size_t>(std::max<int64_t>(1, m.rows * m.cols)));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) buf[i * m.cols + j] = m.p[i * m.rs + j * m.cs];
  return {buf.data(), m.rows, m.cols, m.cols, 1, 0};
}
template <class T>
void unpack(const std::vector<T>& buf, const Mat<T>& m) {
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) m.p[i * m.rs + j * m.cs] = buf[i * m.cols + j];
}

// C = alpha * A @ B + beta * C for single logical matrices A (M, K), B (K, N), C (M, N).
template <class T>
void gemm_one(Mat<T> A, Mat<T> B, Mat<T> C, T alpha, T beta) {
  const int64_t M = C.rows, N = C.cols, K = A.cols;
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS semantics: beta == 0 overwrites C without reading it
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        T& c = C.p[i * C.rs + j * C.cs];
        c = beta == T(0) ? T(0) : beta * c;
      }
    return;
  }
  std::vector<T> bufA, bufB, bufC;
  // The storage order follows C; a C that neither order can address is computed in a packed copy.
  bool row_major = true;
  BlasView vc = blas_view(C, true);
  if (!vc.ok || vc.trans != CblasNoTrans) {
    vc = blas_view(C, false);
    row_major = false;
    if (!vc.ok || vc.trans != CblasNoTrans) {
      Mat<T> packed = beta == T(0) ? Mat<T>{nullptr, M, N, N, 1, 0} : pack(C, bufC);
      if (beta == T(0)) {
        bufC.assign(static_cast<size_t>(M * N), T(0));
        packed.p = bufC.data();
      }
      gemm_one(A, B, packed, alpha, beta);
      unpack(bufC, C);
      return;
    }
  }
  BlasView va = blas_view(A, row_major);
  if (!va.ok) {
    A = pack(A, bufA);
    va = blas_view(A, row_major);
  }
  BlasView vb = blas_view(B, row_major);
  if (!vb.ok) {
    B = pack(B, bufB);
    vb = blas_view(B, row_major);
  }
  // cblas takes 32-bit sizes in the usual OpenBLAS build.
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  MS_CHECK(M <= kMax && N <= kMax && K <= kMax && va.ld <= kMax && vb.ld <= kMax && vc.ld <= kMax,
           "gemm: sizes or strides beyond 2^31 (M ", M, ", N ", N, ", K ", K, ", ld ", va.ld, "/", vb.ld, "/", vc.ld,
           ") cannot be passed to BLAS");
  blas_gemm(row_major ? CblasRowMajor : CblasColMajor, va.trans, vb.trans, M, N, K, alpha, A.p, va.ld, B.p, vb.ld,
            beta, C.p, vc.ld);
}

template <class T>
void gemm_impl(const Tensor& tA, bool trans_a, const Tensor& tB, bool trans_b, const Tensor& tC, double alpha,
               double beta) {
  Mat<T> A = logical<T>(tA, trans_a), B = logical<T>(tB, trans_b), C = logical<T>(tC, false);
  const char* op = "gemm";
  MS_CHECK(A.rows == C.rows && B.cols == C.cols && A.cols == B.rows, op, ": op(A) is (", A.rows, ", ", A.cols,
           "), op(B) is (", B.rows, ", ", B.cols, "), C is (", C.rows, ", ", C.cols, ") (trans_a=", trans_a,
           ", trans_b=", trans_b, "; A ", tA.describe(), ", B ", tB.describe(), ", C ", tC.describe(), ")");
  int64_t batch = 1;
  for (const Tensor* t : {&tA, &tB, &tC}) {
    if (t->ndim() != 3) continue;
    MS_CHECK(batch == 1 || t->size(0) == batch, op, ": batch sizes differ (A ", tA.describe(), ", B ",
             tB.describe(), ", C ", tC.describe(), ")");
    batch = std::max(batch, t->size(0));
  }
  const bool a3 = tA.ndim() == 3, b3 = tB.ndim() == 3, c3 = tC.ndim() == 3;
  if (c3) MS_CHECK(tC.size(0) == batch, op, ": C has batch ", tC.size(0), ", inputs have ", batch);
  const T a = static_cast<T>(alpha), bt = static_cast<T>(beta);

  if (!c3 && (a3 || b3) && batch > 0) {
    // Reduction over the batch into a 2-d C.
    if (a3 && b3 && batch > 1 && A.bs == A.cols * A.cs && B.bs == B.rows * B.rs) {
      // The batches tile op(A) along K and op(B) along K: one call with K' = batch * K.
      Mat<T> A2 = A, B2 = B;
      A2.cols *= batch;
      B2.rows *= batch;
      gemm_one(A2, B2, C, a, bt);
      return;
    }
    for (int64_t b = 0; b < batch; ++b) gemm_one(A.batch(b), B.batch(b), C, a, b == 0 ? bt : T(1));
    return;
  }
  if (!c3) {
    gemm_one(A, B, C, a, bt);
    return;
  }
  if (batch > 1 && a3 && !b3 && A.bs == A.rows * A.rs && C.bs == C.rows * C.rs) {
    // Batches of A and C tile the rows: one call with M' = batch * M (a linear layer on (batch, L, in)).
    Mat<T> A2 = A, C2 = C;
    A2.rows *= batch;
    C2.rows *= batch;
    gemm_one(A2, B, C2, a, bt);
    return;
  }
  if (batch > 1 && !a3 && b3 && B.bs == B.cols * B.cs && C.bs == C.cols * C.cs) {
    Mat<T> B2 = B, C2 = C;  // batches tile the columns: N' = batch * N
    B2.cols *= batch;
    C2.cols *= batch;
    gemm_one(A, B2, C2, a, bt);
    return;
  }
  for (int64_t b = 0; b < batch; ++b) gemm_one(A.batch(b), B.batch(b), C.batch(b), a, bt);
}

}  // namespace

// OpenBLAS runs single-threaded: its own worker threads spin between calls and then fight our OpenMP
// threads for the cores (a 6-layer step-mode token took 9x longer on 2 busy cores). The layers' GEMMs are
// small, and the rest of the work is parallel through OpenMP.
static void single_threaded_blas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, const Tensor& C, double alpha, double beta) {
  const char* op = "gemm";
  single_threaded_blas();
  check_defined(op, "A", A);
  check_defined(op, "B", B);
  check_defined(op, "C", C);
  check_cpu(op, {&A, &B, &C});
  for (const auto& [name, t] : {std::pair{"A", &A}, std::pair{"B", &B}, std::pair{"C", &C}})
    MS_CHECK(t->ndim() == 2 || t->ndim() == 3, op, ": '", name, "' must be 2-d or 3-d, got ", t->describe());
  dispatch_float(op, "C", C, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtype(op, "A", A, C.dtype());
    check_dtype(op, "B", B, C.dtype());
    gemm_impl<T>(A, trans_a, B, trans_b, C, alpha, beta);
  });
}

}  // namespace ms::cpu
