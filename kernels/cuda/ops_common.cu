// Host-side helpers of kernels/cuda/ops_common.cuh.
#include <algorithm>

#include "kernels/cuda/ops_common.cuh"

namespace ms::cuda {

void check_float_storage(const char* op, const char* arg, const Tensor& t) {
  check_defined(op, arg, t);
  MS_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16, op, ": '", arg, "' has dtype ",
           dtype_name(t.dtype()), "; the CUDA implementation takes f32 or bf16");
}

FPtr fptr(const char* op, const char* arg, const Tensor& t) {
  FPtr f;
  if (!t.defined()) return f;
  check_float_storage(op, arg, t);
  MS_CHECK(t.is_cuda(), op, ": '", arg, "' must be a CUDA tensor, got ", t.describe());
  f.p = t.raw();
  f.bf = t.dtype() == DType::bf16;
  return f;
}

float* f32ptr(const char* op, const char* arg, const Tensor& t) {
  if (!t.defined()) return nullptr;
  check_dtype(op, arg, t, DType::f32);
  MS_CHECK(t.is_cuda(), op, ": '", arg, "' must be a CUDA tensor, got ", t.describe());
  return static_cast<float*>(t.raw());
}

void check_cuda(const char* op, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    MS_CHECK(!t->defined() || t->is_cuda(), op, ": expected CUDA tensors, got ", t->describe());
}

Layout layout_of(const Tensor& t, int ndim) {
  MS_CHECK(ndim >= 0 && ndim <= kLayoutDims, "CUDA ops address at most ", kLayoutDims, " dimensions, got ",
           t.describe());
  Layout l;
  l.nd = ndim;
  for (int d = 0; d < ndim; ++d) {
    l.shape[d] = t.shape()[d];
    l.stride[d] = t.strides()[d];
  }
  // offset(i) == i * step when the non-trivial dims are evenly spaced.
  l.uniform = true;
  l.step = 1;
  int64_t expect = -1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (l.shape[d] == 1) continue;
    if (expect < 0) {
      l.step = l.stride[d];
      expect = l.stride[d] * l.shape[d];
    } else if (l.stride[d] != expect) {
      l.uniform = false;
      break;
    } else {
      expect *= l.shape[d];
    }
  }
  return l;
}

int64_t row_count(const Tensor& t) {
  int64_t n = 1;
  for (int d = 0; d + 1 < t.ndim(); ++d) n *= t.size(d);
  return n;
}

bool vec8_rows_ok(const Tensor& t) {
  if (!t.defined()) return true;
  if (reinterpret_cast<uintptr_t>(t.raw()) % 16 != 0) return false;
  for (int d = 0; d + 1 < t.ndim(); ++d)
    if (t.size(d) > 1 && t.stride(d) % 8 != 0) return false;
  return true;
}

RowPlan plan_rows(const char* op, int64_t rows, int64_t H, bool vec8, int64_t max_blocks) {
  RowPlan p;
  p.vec = vec8 && H % 8 == 0 ? 8 : 1;
  const int64_t need = std::max<int64_t>(1, (H + p.vec - 1) / p.vec);  // threads' worth of chunks per row
  // Smallest group whose threads each own at most two chunks; rows wider than 512 threads x 2 chunks get
  // more chunks per thread (up to 16).
  p.tpr = 32;
  while (p.tpr < 512 && (need + p.tpr - 1) / p.tpr > 2) p.tpr *= 2;
  const int64_t nch = (need + p.tpr - 1) / p.tpr;
  MS_CHECK(nch <= 16, op, ": rows of ", H, " elements are too long for the CUDA kernel (at most ",
           512 * 16 * p.vec, p.vec == 1 ? "; longer rows need H % 8 == 0 and 16-byte aligned rows" : "", ")");
  p.nch = nch <= 1 ? 1 : nch <= 2 ? 2 : nch <= 4 ? 4 : nch <= 8 ? 8 : 16;
  p.block = std::max(256, p.tpr);
  p.groups = p.block / p.tpr;
  const int64_t want = (rows + p.groups - 1) / p.groups;
  const int64_t cap = max_blocks > 0 ? max_blocks : static_cast<int64_t>(sm_count()) * 16;
  p.grid = std::max<int64_t>(1, std::min(want, cap));
  return p;
}

RowPlan plan_rows_looping(int64_t rows, int64_t H, bool vec8) {
  RowPlan p;
  p.vec = vec8 && H % 8 == 0 ? 8 : 1;
  const int64_t need = std::max<int64_t>(1, (H + p.vec - 1) / p.vec);
  p.tpr = 32;
  while (p.tpr < 256 && p.tpr < need) p.tpr *= 2;
  p.nch = 1;
  p.block = 256;
  p.groups = p.block / p.tpr;
  const int64_t want = (rows + p.groups - 1) / p.groups;
  p.grid = std::max<int64_t>(1, std::min(want, static_cast<int64_t>(sm_count()) * 16));
  return p;
}

int64_t grid_for_items(int64_t n, int threads) {
  const int64_t want = (n + threads - 1) / threads;
  return std::max<int64_t>(1, std::min<int64_t>(want, static_cast<int64_t>(sm_count()) * 32));
}

Tensor scratch(int64_t bytes) { return Tensor::empty({std::max<int64_t>(bytes, 1)}, DType::u8, Device::cuda); }

}  // namespace ms::cuda
