// CUDA twin of kernels/gemm.h through cuBLAS.
//
// Row-major to column-major: a row-major (R, C) matrix with leading dimension ld is, to cuBLAS, the
// column-major (C, R) matrix with the same ld, i.e. its transpose. So C = op(A) op(B) (row-major) is
// computed as C^T = op(B)^T op(A)^T in column-major terms: cuBLAS's first operand is our B (transposed
// iff trans_b), its second our A (transposed iff trans_a), m = N, n = M, k = K, and every ld and batch
// stride is passed through unchanged.
#include <climits>
#include <cstring>

#include "kernels/cuda/cublas_util.cuh"
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

// One operand as stored: row-major (rows, cols), unit column stride, leading dimension ld, batch stride bs
// (0 when the operand is 2-d and shared by every batch entry).
struct Operand {
  const char* base = nullptr;
  int64_t rows = 0, cols = 0, ld = 0, bs = 0, batch = 0;  // batch: 0 for 2-d
};

Operand describe_operand(const char* arg, const Tensor& t) {
  check_defined("gemm", arg, t);
  MS_CHECK(t.ndim() == 2 || t.ndim() == 3, "gemm: '", arg, "' must be 2-d or 3-d, got ", t.describe());
  check_inner_contiguous("gemm", arg, t);
  Operand o;
  o.base = static_cast<const char*>(t.raw());
  o.rows = t.size(-2);
  o.cols = t.size(-1);
  // A single row has no meaningful row stride; cuBLAS still wants ld >= the column count.
  o.ld = o.rows <= 1 ? std::max<int64_t>(o.cols, 1) : t.stride(-2);
  MS_CHECK(o.ld >= std::max<int64_t>(o.cols, 1), "gemm: '", arg, "' has row stride ", t.stride(-2), " < ", o.cols,
           " columns (overlapping rows); pass a contiguous copy");
  if (t.ndim() == 3) {
    o.batch = t.size(0);
    o.bs = o.batch > 1 ? t.stride(0) : 0;
  }
  return o;
}

void check_int(const char* what, int64_t v) {
  MS_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, " = ", v, " exceeds the 32-bit cuBLAS interface");
}

// C[b] = alpha op(A[b]) op(B[b]) + beta C[b], b < batch, through the column-major transposition above.
void strided_batched(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const char* A, int64_t lda,
                     int64_t sa, const char* B, int64_t ldb, int64_t sb, float beta, char* C, int64_t ldc,
                     int64_t sc, int64_t batch, cudaDataType_t dt, cublasComputeType_t ct) {
  check_int("M", M);
  check_int("N", N);
  check_int("K", K);
  check_int("lda", lda);
  check_int("ldb", ldb);
  check_int("ldc", ldc);
  check_int("batch", batch);
  MS_CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas_handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                             ta ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(N),
                                             static_cast<int>(M), static_cast<int>(K), &alpha, B, dt,
                                             static_cast<int>(ldb), sb, A, dt, static_cast<int>(lda), sa, &beta, C, dt,
                                             static_cast<int>(ldc), sc, static_cast<int>(batch), ct,
                                             CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, const Tensor& C, double alpha, double beta) {
  const char* op = "gemm";
  const Operand a = describe_operand("A", A), b = describe_operand("B", B);
  check_defined(op, "C", C);
  check_same_device(op, {&A, &B, &C});
  MS_CHECK(C.is_cuda(), op, ": expected CUDA tensors, got ", C.describe());
  MS_CHECK(C.dtype() == DType::f32 || C.dtype() == DType::bf16, op, ": CUDA takes f32 or bf16, got ",
           C.describe());
  check_dtype(op, "A", A, C.dtype());
  check_dtype(op, "B", B, C.dtype());
  MS_CHECK(C.ndim() == 2 || C.ndim() == 3, op, ": 'C' must be 2-d or 3-d, got ", C.describe());
  check_inner_contiguous(op, "C", C);

  const int64_t M = trans_a ? a.cols : a.rows, K = trans_a ? a.rows : a.cols;
  const int64_t Kb = trans_b ? b.cols : b.rows, N = trans_b ? b.rows : b.cols;
  MS_CHECK(K == Kb, op, ": inner dimensions differ: op(A) is (", M, ", ", K, "), op(B) is (", Kb, ", ", N, ") for A ",
           A.describe(), (trans_a ? " (transposed)" : ""), ", B ", B.describe(), (trans_b ? " (transposed)" : ""));
  MS_CHECK(C.size(-2) == M && C.size(-1) == N, op, ": C is ", C.describe(), ", expected (", M, ", ", N, ")");

  // Batch count: C's when C is 3-d, otherwise that of the 3-d inputs (summed into the 2-d C).
  const bool c3 = C.ndim() == 3;
  int64_t batch = c3 ? C.size(0) : 1;
  bool reduce = false;
  for (const Tensor* t : {&A, &B}) {
    if (t->ndim() != 3) continue;
    if (c3) {
      MS_CHECK(t->size(0) == batch, op, ": batch sizes differ: ", t->describe(), " vs C ", C.describe());
    } else if (!reduce) {
      batch = t->size(0);
      reduce = true;
    } else {
      MS_CHECK(t->size(0) == batch, op, ": batch sizes differ between A ", A.describe(), " and B ", B.describe());
    }
  }

  const int64_t ldc = C.size(-2) <= 1 ? std::max<int64_t>(N, 1) : C.stride(-2);
  MS_CHECK(ldc >= std::max<int64_t>(N, 1), op, ": C has row stride ", C.stride(-2), " < ", N,
           " columns (overlapping rows)");
  const int64_t sc = c3 && C.size(0) > 1 ? C.stride(0) : 0;
  MS_CHECK(!c3 || C.size(0) <= 1 || sc != 0, op, ": C's batch entries overlap (batch stride 0)");

  if (M == 0 || N == 0) return;
  if (K == 0 || batch == 0) {  // empty products: C = beta * C
    if (beta == 0.0) C.fill_(0.0);
    else if (beta != 1.0) ms::cuda::scale(C, beta);
    return;
  }

  const bool bf = C.dtype() == DType::bf16;
  const cudaDataType_t dt = bf ? CUDA_R_16BF : CUDA_R_32F;
  const cublasComputeType_t ct =
      !bf && gemm_precision() == GemmPrecision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const int64_t es = static_cast<int64_t>(dtype_size(C.dtype()));
  char* c = static_cast<char*>(C.raw());
  const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);

  if (!reduce) {
    strided_batched(trans_a, trans_b, M, N, K, fa, a.base, a.ld, a.bs, b.base, b.ld, b.bs, fb, c, ldc, sc, batch, dt,
                    ct);
    return;
  }

  // C (M, N) = alpha * sum_b op(A[b]) op(B[b]) + beta * C. When both inputs are 3-d and their batch entries
  // stack along K (the K index is the row index of a stored matrix whose batch stride is K rows, or the
  // column index with batch stride K), the sum is one GEMM with K' = batch * K over the stacked views.
  const bool a3 = A.ndim() == 3, b3 = B.ndim() == 3;
  const bool a_stacks = a3 && (trans_a ? a.bs == K * a.ld : (a.bs == K && a.ld >= batch * K));
  const bool b_stacks = b3 && (!trans_b ? b.bs == K * b.ld : (b.bs == K && b.ld >= batch * K));
  if (batch == 1 || (a_stacks && b_stacks)) {
    strided_batched(trans_a, trans_b, M, N, K * batch, fa, a.base, a.ld, 0, b.base, b.ld, 0, fb, c, ldc, 0, 1, dt, ct);
    return;
  }
  // Otherwise one GEMM per batch entry, accumulating into C (beta = 1 after the first).
  for (int64_t i = 0; i < batch; ++i) {
    const char* ai = a.base + (a3 ? i * a.bs * es : 0);
    const char* bi = b.base + (b3 ? i * b.bs * es : 0);
    strided_batched(trans_a, trans_b, M, N, K, fa, ai, a.ld, 0, bi, b.ld, 0, i == 0 ? fb : 1.0f, c, ldc, 0, 1, dt, ct);
  }
}

}  // namespace ms::cuda
