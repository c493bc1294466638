// Helpers shared by the CPU reference ops (kernels/cpu/*.cpp): dtype dispatch, device checks, strided
// row addressing and the fixed chunking that keeps reductions bit-identical whatever the thread count.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "kernels/tensor.h"

namespace ms::cpu {

template <class T>
struct type_tag {
  using type = T;
};

// Calls f(type_tag<float>{}) or f(type_tag<double>{}) for an f32 or f64 tensor; any other dtype is an error
// that names the op and the argument. Use as:
//   dispatch_float("op", "x", x, [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <class F>
decltype(auto) dispatch_float(const char* op, const char* arg, const Tensor& t, F&& f) {
  check_defined(op, arg, t);
  switch (t.dtype()) {
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    default: break;
  }
  MS_CHECK(false, op, ": '", arg, "' has dtype ", dtype_name(t.dtype()),
           "; the CPU implementation supports f32 and f64 only");
  return f(type_tag<float>{});  // unreachable
}

// Every defined tensor is on the CPU (ms::cpu ops are also reachable directly, not only via dispatch).
inline void check_cpu(const char* op, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    MS_CHECK(!t->defined() || t->device() == Device::cpu, op, ": expected CPU tensors, got ", t->describe());
}

// Defined tensors share `dt` (all float tensors of one CPU op call use one dtype).
inline void check_dtypes(const char* op, DType dt, std::initializer_list<std::pair<const char*, const Tensor*>> ts) {
  for (const auto& [name, t] : ts)
    if (t->defined()) check_dtype(op, name, *t, dt);
}

// Maps a flat index over the first `ndim` dimensions of a tensor to an element offset, honouring strides.
// rows(t) addresses the rows of a (..., H) tensor; elems(t) every element.
struct StridedIndex {
  int ndim = 0;
  int64_t shape[8] = {}, strides[8] = {};
  int64_t count = 1;
  bool contiguous = true;  // offset(i) == i * step
  int64_t step = 1;

  static StridedIndex leading(const Tensor& t, int ndim) {
    MS_CHECK(ndim >= 0 && ndim <= 8, "StridedIndex: ", ndim, " dimensions are more than 8");
    StridedIndex s;
    s.ndim = ndim;
    for (int d = 0; d < ndim; ++d) {
      s.shape[d] = t.shape()[d];
      s.strides[d] = t.strides()[d];
      s.count *= s.shape[d];
    }
    // Collapse to a single stride when the leading dims are evenly spaced (the common case).
    int64_t expect = -1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (s.shape[d] == 1) continue;
      if (expect < 0) {
        s.step = s.strides[d];
        expect = s.strides[d] * s.shape[d];
      } else if (s.strides[d] != expect) {
        s.contiguous = false;
        break;
      } else {
        expect *= s.shape[d];
      }
    }
    return s;
  }
  static StridedIndex rows(const Tensor& t) { return leading(t, std::max(0, t.ndim() - 1)); }
  static StridedIndex elems(const Tensor& t) { return leading(t, t.ndim()); }

  int64_t offset(int64_t i) const {
    if (contiguous) return i * step;
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (i % shape[d]) * strides[d];
      i /= shape[d];
    }
    return off;
  }
};

// Number of rows of a (..., H) tensor and H.
inline int64_t row_count(const Tensor& t) { return t.ndim() == 0 ? 1 : t.numel() / std::max<int64_t>(1, t.size(-1)); }

// Reductions over rows (parameter gradients, sums) split the rows into a number of chunks that depends only
// on the problem size, never on the thread count; per-chunk partials are combined in chunk order, so the
// result is bit-identical run to run and machine to machine.
constexpr int64_t kReduceChunks = 64;
inline int64_t reduce_chunks(int64_t n) { return std::max<int64_t>(1, std::min(n, kReduceChunks)); }
inline int64_t chunk_begin(int64_t chunk, int64_t n, int64_t chunks) { return n * chunk / chunks; }

// Skip OpenMP's fork/join for tiny problems (elements times rough cost per element).
constexpr int64_t kParallelGrain = 1 << 14;

// Elementwise loop over N tensors of one shape (any strides): calls f(off) with off[j] the element offset
// of the current element in tensor j. Contiguous tensors take a flat loop; others go row by row.
// `cost` is a rough per-element cost (for the OpenMP threshold). f must not throw.
template <size_t N, class F>
void for_each_offset(const std::array<const Tensor*, N>& ts, int64_t cost, F&& f) {
  const Tensor& t0 = *ts[0];
  const int64_t n = t0.numel();
  if (n == 0) return;
  const bool par = n * cost > kParallelGrain;
  bool contiguous = true;
  for (const Tensor* t : ts) contiguous = contiguous && t->is_contiguous();
  if (contiguous) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < n; ++i) {
      std::array<int64_t, N> off;
      off.fill(i);
      f(off);
    }
    return;
  }
  const int64_t H = t0.ndim() ? t0.size(-1) : 1, R = n / H;
  std::array<StridedIndex, N> rows;
  std::array<int64_t, N> inner;
  for (size_t j = 0; j < N; ++j) {
    rows[j] = StridedIndex::rows(*ts[j]);
    inner[j] = ts[j]->ndim() ? ts[j]->stride(-1) : 1;
  }
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < R; ++r) {
    std::array<int64_t, N> base, off;
    for (size_t j = 0; j < N; ++j) base[j] = rows[j].offset(r);
    for (int64_t h = 0; h < H; ++h) {
      for (size_t j = 0; j < N; ++j) off[j] = base[j] + h * inner[j];
      f(off);
    }
  }
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace ms::cpu
