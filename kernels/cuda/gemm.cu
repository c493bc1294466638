// CUDA twin of kernels/gemm.h through cuBLAS (cublasGemmStridedBatchedEx).
//
// Row-major to column-major: a row-major (R, C) matrix with leading dimension ld is, to cuBLAS, the
// column-major (C, R) matrix with the same ld, i.e. its transpose. So C = A B (row-major, A and B the
// logical op(A), op(B)) is computed as C^T = B^T A^T in column-major terms: cuBLAS's first operand is our
// B, its second our A, m = N, n = M, k = K; leading dimensions and batch strides pass through unchanged.
// As on the CPU, operands may have any strides: a matrix whose memory holds its transpose row-major
// (unit row stride) flips the cuBLAS transpose flag, a column-major C turns the problem into
// C^T = op(B)^T op(A)^T, and only a matrix with no unit stride at all is copied. Batches that tile a
// larger matrix are folded into one GEMM, exactly where the CPU twin folds them.
#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "kernels/cuda/cublas_util.cuh"
#include "kernels/cuda/ops_common.cuh"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace ms::cuda {

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
  const char* f = file;
  if (const char* p = std::strstr(file, "/kernels/")) f = p + 1;
  throw Error(std::string("cuBLAS error: ") + cublasGetStatusString(status) + " in " + what + " (" + f + ":" +
              std::to_string(line) + ")");
}

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    MS_CUBLAS_CHECK(cublasCreate(&h));
    MS_CUBLAS_CHECK(cublasSetStream(h, stream()));
    // NVIDIA recommends 32 MiB of workspace on Hopper; allocated once, never freed (lives as long as the
    // handle), so cuBLAS itself never allocates during a step or a graph capture.
    constexpr size_t kWorkspace = size_t{32} << 20;
    void* ws = nullptr;
    MS_CUDA_CHECK(cudaMalloc(&ws, kWorkspace));
    MS_CUBLAS_CHECK(cublasSetWorkspace(h, ws, kWorkspace));
    MS_CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
    return h;
  }();
  return handle;
}

namespace {

// A logical matrix op(X) (rows, cols) with element strides rs, cs and batch stride bs (0 when shared by
// every batch entry), as the CPU twin describes operands: any strides, transposes folded in.
struct Mat {
  char* p = nullptr;
  int64_t rows = 0, cols = 0, rs = 0, cs = 0, bs = 0;
  Mat transposed() const { return {p, cols, rows, cs, rs, bs}; }
};

Mat logical(const Tensor& t, bool trans) {
  const int r = t.ndim() == 3 ? 1 : 0;
  Mat m{static_cast<char*>(t.raw()), t.size(r), t.size(r + 1), t.stride(r), t.stride(r + 1),
        t.ndim() == 3 && t.size(0) > 1 ? t.stride(0) : 0};
  return trans ? m.transposed() : m;
}

// How a logical matrix lies in memory relative to row-major: trans = false when it is row-major with
// leading dimension ld (unit column stride), trans = true when memory holds its transpose row-major
// (unit row stride). ok = false when neither (then a contiguous copy is used).
struct View {
  bool ok = false, trans = false;
  int64_t ld = 1;
};
View view_of(const Mat& m) {
  const int64_t c1 = std::max<int64_t>(1, m.cols), r1 = std::max<int64_t>(1, m.rows);
  if ((m.cols <= 1 || m.cs == 1) && (m.rows <= 1 || m.rs >= c1)) return {true, false, m.rows <= 1 ? c1 : m.rs};
  if ((m.rows <= 1 || m.rs == 1) && (m.cols <= 1 || m.cs >= r1)) return {true, true, m.cols <= 1 ? r1 : m.cs};
  return {};
}

void check_int(const char* what, int64_t v) {
  MS_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, " = ", v, " exceeds the 32-bit cuBLAS interface");
}

struct Call {
  cudaDataType_t dt;
  cublasComputeType_t ct;
  float alpha, beta;
};

// C[b] = alpha A[b] B[b] + beta C[b] for b < batch, with C row-major (view_of(C) not transposed).
// Row-major C = A B is column-major C^T = B^T A^T: cuBLAS's first operand is our B, its second our A.
void run(const Mat& A, const Mat& B, const Mat& C, int64_t batch, const Call& c) {
  const View va = view_of(A), vb = view_of(B), vc = view_of(C);
  MS_CHECK(va.ok && vb.ok && vc.ok && !vc.trans, "gemm: internal: operand not addressable by cuBLAS");
  const int64_t M = C.rows, N = C.cols, K = A.cols;
  check_int("M", M);
  check_int("N", N);
  check_int("K", K);
  check_int("lda", va.ld);
  check_int("ldb", vb.ld);
  check_int("ldc", vc.ld);
  check_int("batch", batch);
  MS_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      cublas_handle(), vb.trans ? CUBLAS_OP_T : CUBLAS_OP_N, va.trans ? CUBLAS_OP_T : CUBLAS_OP_N,
      static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &c.alpha, B.p, c.dt, static_cast<int>(vb.ld),
      B.bs, A.p, c.dt, static_cast<int>(va.ld), A.bs, &c.beta, C.p, c.dt, static_cast<int>(vc.ld), C.bs,
      static_cast<int>(batch), c.ct, CUBLAS_GEMM_DEFAULT));
}

Mat with_ptr(Mat m, char* p) {
  m.p = p;
  return m;
}

}  // namespace

void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, const Tensor& C, double alpha, double beta) {
  const char* op = "gemm";
  check_defined(op, "A", A);
  check_defined(op, "B", B);
  check_defined(op, "C", C);
  check_cuda(op, {&A, &B, &C});
  for (const auto& [name, t] : {std::pair{"A", &A}, std::pair{"B", &B}, std::pair{"C", &C}})
    MS_CHECK(t->ndim() == 2 || t->ndim() == 3, op, ": '", name, "' must be 2-d or 3-d, got ", t->describe());
  MS_CHECK(C.dtype() == DType::f32 || C.dtype() == DType::bf16, op, ": CUDA takes f32 or bf16, got ",
           C.describe());
  check_dtype(op, "A", A, C.dtype());
  check_dtype(op, "B", B, C.dtype());

  Mat a = logical(A, trans_a), b = logical(B, trans_b), c = logical(C, false);
  MS_CHECK(a.rows == c.rows && b.cols == c.cols && a.cols == b.rows, op, ": op(A) is (", a.rows, ", ", a.cols,
           "), op(B) is (", b.rows, ", ", b.cols, "), C is (", c.rows, ", ", c.cols, ") (trans_a=", trans_a,
           ", trans_b=", trans_b, "; A ", A.describe(), ", B ", B.describe(), ", C ", C.describe(), ")");
  int64_t batch = 1;
  for (const Tensor* t : {&A, &B, &C}) {
    if (t->ndim() != 3) continue;
    MS_CHECK(batch == 1 || t->size(0) == batch, op, ": batch sizes differ (A ", A.describe(), ", B ", B.describe(),
             ", C ", C.describe(), ")");
    batch = std::max(batch, t->size(0));
  }
  const bool a3 = A.ndim() == 3, b3 = B.ndim() == 3, c3 = C.ndim() == 3;
  if (c3) MS_CHECK(C.size(0) == batch, op, ": C has batch ", C.size(0), ", inputs have ", batch);
  MS_CHECK(!c3 || batch <= 1 || C.stride(0) != 0, op, ": C's batch entries overlap (batch stride 0): ",
           C.describe());
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0 || (c3 && batch == 0)) return;
  if (K == 0 || batch == 0) {  // empty products: C = beta * C (beta == 0 overwrites without reading)
    if (beta == 0.0) C.fill_(0.0);
    else if (beta != 1.0) ms::cuda::scale(C, beta);
    return;
  }

  // Operands cuBLAS cannot address (neither dimension unit-stride, or overlapping rows) are copied.
  Tensor Aw = A, Bw = B, Cw = C;
  if (!view_of(a).ok) {
    Aw = A.is_contiguous() ? A.clone() : A.contiguous();
    a = logical(Aw, trans_a);
  }
  if (!view_of(b).ok) {
    Bw = B.is_contiguous() ? B.clone() : B.contiguous();
    b = logical(Bw, trans_b);
  }
  const bool c_copy = !view_of(c).ok;
  if (c_copy) {
    Cw = beta == 0.0 ? Tensor::empty(C.shape(), C.dtype(), Device::cuda) : C.clone();
    c = logical(Cw, false);
  }

  const bool bf = C.dtype() == DType::bf16;
  Call call{bf ? CUDA_R_16BF : CUDA_R_32F,
            !bf && gemm_precision() == GemmPrecision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
            static_cast<float>(alpha), static_cast<float>(beta)};

  // A column-major C: solve C^T = op(B)^T op(A)^T instead, whose result is row-major.
  bool swapped = false;
  if (view_of(c).trans) {
    const Mat at = b.transposed(), bt = a.transposed();
    a = at;
    b = bt;
    c = c.transposed();
    swapped = true;
  }
  const bool x3 = swapped ? b3 : a3, y3 = swapped ? a3 : b3;  // which of (a, b) are batched after a swap

  if (!c3 && (x3 || y3)) {
    // 2-d C with batched inputs: C = alpha * sum_b A[b] B[b] + beta C.
    if (x3 && y3 && batch > 1 && a.bs == a.cols * a.cs && b.bs == b.rows * b.rs) {
      // Batches tile A along K and B along K: one GEMM with K' = batch * K.
      Mat a2 = a, b2 = b;
      a2.cols *= batch;
      b2.rows *= batch;
      a2.bs = b2.bs = 0;
      if (view_of(a2).ok && view_of(b2).ok) {
        run(a2, b2, c, 1, call);
        if (c_copy) C.copy_(Cw);
        return;
      }
    }
    for (int64_t i = 0; i < batch; ++i) {
      Mat ai = with_ptr(a, a.p + i * a.bs * static_cast<int64_t>(dtype_size(C.dtype())));
      Mat bi = with_ptr(b, b.p + i * b.bs * static_cast<int64_t>(dtype_size(C.dtype())));
      ai.bs = bi.bs = 0;
      Call ci = call;
      if (i > 0) ci.beta = 1.0f;
      run(ai, bi, c, 1, ci);
    }
    if (c_copy) C.copy_(Cw);
    return;
  }
  if (c3 && batch > 1) {
    // Batches that tile rows (A 3-d, B shared) or columns (A shared, B 3-d) fold into one larger GEMM.
    if (x3 && !y3 && a.bs == a.rows * a.rs && c.bs == c.rows * c.rs) {
      Mat a2 = a, c2 = c;
      a2.rows *= batch;
      c2.rows *= batch;
      a2.bs = c2.bs = 0;
      if (view_of(a2).ok && view_of(c2).ok && !view_of(c2).trans) {
        run(a2, b, c2, 1, call);
        if (c_copy) C.copy_(Cw);
        return;
      }
    }
    if (!x3 && y3 && b.bs == b.cols * b.cs && c.bs == c.cols * c.cs) {
      Mat b2 = b, c2 = c;
      b2.cols *= batch;
      c2.cols *= batch;
      b2.bs = c2.bs = 0;
      if (view_of(b2).ok && view_of(c2).ok && !view_of(c2).trans) {
        run(a, b2, c2, 1, call);
        if (c_copy) C.copy_(Cw);
        return;
      }
    }
  }
  run(a, b, c, c3 ? batch : 1, call);
  if (c_copy) C.copy_(Cw);
}

}  // namespace ms::cuda
