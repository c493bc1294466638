// Helpers shared by the CUDA twins of the small ops (everything but GEMM and the selective scan):
// f32/bf16 storage chosen at run time, strided row addressing, vectorized loads, block reductions over
// groups of threads, launch planning for row-wise kernels and argument checks.
//
// Storage dtypes are a run-time property (FPtr) rather than a template parameter: the branch is uniform
// across the grid and costs nothing next to the memory traffic, and it keeps the number of kernel
// instantiations (and the build time) small while allowing any f32/bf16 mix where a header allows it.
#pragma once
#include <cstring>
#include <initializer_list>

#include "kernels/cuda/cuda_common.cuh"

namespace ms::cuda {

// ---------------------------------------------------------------------------------------------------
// Float storage (f32 or bf16) picked at run time; all arithmetic is f32.
struct FPtr {
  void* p = nullptr;
  bool bf = false;  // true: __nv_bfloat16, false: float

  __device__ __forceinline__ float ld(int64_t i) const {
    return bf ? __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]) : static_cast<const float*>(p)[i];
  }
  __device__ __forceinline__ void st(int64_t i, float v) const {
    if (bf) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16(v);
    else static_cast<float*>(p)[i] = v;
  }
  // Eight consecutive elements starting at i; the caller guarantees 16-byte alignment of element i
  // (see vec8_ok), so bf16 is one 16-byte load and f32 two.
  __device__ __forceinline__ void ld8(int64_t i, float* v) const {
    if (bf) {
      const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const __nv_bfloat16*>(p) + i);
      const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 f = __bfloat1622float2(h[j]);
        v[2 * j] = f.x;
        v[2 * j + 1] = f.y;
      }
    } else {
      const float4* q = reinterpret_cast<const float4*>(static_cast<const float*>(p) + i);
      const float4 a = q[0], b = q[1];
      v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
      v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    }
  }
  __device__ __forceinline__ void st8(int64_t i, const float* v) const {
    if (bf) {
      uint4 raw;
      __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
      for (int j = 0; j < 4; ++j) h[j] = __floats2bfloat162_rn(v[2 * j], v[2 * j + 1]);
      *reinterpret_cast<uint4*>(static_cast<__nv_bfloat16*>(p) + i) = raw;
    } else {
      float4* q = reinterpret_cast<float4*>(static_cast<float*>(p) + i);
      q[0] = make_float4(v[0], v[1], v[2], v[3]);
      q[1] = make_float4(v[4], v[5], v[6], v[7]);
    }
  }
  // VEC = 1 or 8 elements at i.
  template <int VEC>
  __device__ __forceinline__ void ldv(int64_t i, float* v) const {
    if constexpr (VEC == 8) ld8(i, v);
    else {
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = ld(i + j);
    }
  }
  template <int VEC>
  __device__ __forceinline__ void stv(int64_t i, const float* v) const {
    if constexpr (VEC == 8) st8(i, v);
    else {
#pragma unroll
      for (int j = 0; j < VEC; ++j) st(i + j, v[j]);
    }
  }
};

// ---------------------------------------------------------------------------------------------------
// Maps a flat row-major index over `shape` to an element offset through `stride` (up to kMaxDims dims).
// `uniform` marks the common case offset(i) == i * step (dims of size 1 ignored).
constexpr int kLayoutDims = 8;
struct Layout {
  int nd = 0;
  bool uniform = true;
  int64_t step = 1;
  int64_t shape[kLayoutDims] = {};
  int64_t stride[kLayoutDims] = {};

  __host__ __device__ __forceinline__ int64_t offset(int64_t i) const {
    if (uniform) return i * step;
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; --d) {
      off += (i % shape[d]) * stride[d];
      i /= shape[d];
    }
    return off;
  }
};

// ---------------------------------------------------------------------------------------------------
// Warp shuffles for any trivially copyable value whose size is a multiple of 4 bytes.
template <class T>
__device__ __forceinline__ T shfl_xor(const T& v, int mask) {
  static_assert(sizeof(T) % 4 == 0, "shfl_xor: size must be a multiple of 4 bytes");
  constexpr int W = sizeof(T) / 4;
  unsigned w[W];
  memcpy(w, &v, sizeof(T));
#pragma unroll
  for (int i = 0; i < W; ++i) w[i] = __shfl_xor_sync(0xffffffffu, w[i], mask);
  T r;
  memcpy(&r, w, sizeof(T));
  return r;
}

// Threads of a block form groups of `tpr` consecutive threads (tpr a power of two, 32 <= tpr <= blockDim.x,
// the same for the whole block). Returns op over the group to every thread of the group, combining in a
// fixed order (so results are reproducible). `op` must be commutative (the butterfly gives every lane the
// same value only then). Every thread of the block must call it, the same number of times (it may
// __syncthreads); `scratch` holds blockDim.x / 32 values of T in shared memory.
template <class T, class Op>
__device__ __forceinline__ T group_allreduce(T v, Op op, int tpr, T* scratch) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, shfl_xor(v, o));
  if (tpr <= 32) return v;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wpg = tpr / 32, first = (warp / wpg) * wpg;
  __syncthreads();  // the previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T r = scratch[first];
  for (int w = 1; w < wpg; ++w) r = op(r, scratch[first + w]);
  return r;
}

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

// Arg-max with the lowest index winning ties; NaN values never win.
struct ArgMax {
  float v;
  int i;  // INT_MAX when empty
};
__device__ __forceinline__ ArgMax argmax_combine(ArgMax a, ArgMax b) {
  if (b.v > a.v || (b.v == a.v && b.i < a.i)) return b;
  return a;
}
struct ArgMaxOp {
  __device__ __forceinline__ ArgMax operator()(ArgMax a, ArgMax b) const { return argmax_combine(a, b); }
};

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + __expf(-x)); }

// ---------------------------------------------------------------------------------------------------
// Host side (ops_common.cu).

// FPtr of an f32 or bf16 CUDA tensor (null FPtr when undefined); other dtypes are an error naming op/arg.
FPtr fptr(const char* op, const char* arg, const Tensor& t);
// Typed f32 pointer; checks dtype f32 (when defined; nullptr when undefined).
float* f32ptr(const char* op, const char* arg, const Tensor& t);

// Every defined tensor lives on the GPU.
void check_cuda(const char* op, std::initializer_list<const Tensor*> tensors);
// dtype is f32 or bf16.
void check_float_storage(const char* op, const char* arg, const Tensor& t);

Layout layout_of(const Tensor& t, int ndim);                                   // the first ndim dims
inline Layout rows_layout(const Tensor& t) { return layout_of(t, t.ndim() > 0 ? t.ndim() - 1 : 0); }
inline Layout elems_layout(const Tensor& t) { return layout_of(t, t.ndim()); }
int64_t row_count(const Tensor& t);  // product of all dims but the last (1 for 0-d/1-d)

// 16-byte aligned base and every leading-dim stride a multiple of 8 elements (so element (r, 8c) of
// every row is 16-byte aligned for f32 and bf16). Undefined tensors pass.
bool vec8_rows_ok(const Tensor& t);

// Launch plan for kernels that give each row a group of `tpr` threads, each thread owning `nch` chunks of
// `vec` consecutive columns: column c = (lane + k * tpr) * vec + j. Blocks hold `groups` rows at a time.
struct RowPlan {
  int vec = 1, tpr = 32, nch = 1, groups = 1, block = 256;
  int64_t grid = 1;
};
// max_blocks caps the grid (the kernels loop over rows); pass 0 for "enough to fill the GPU".
RowPlan plan_rows(const char* op, int64_t rows, int64_t H, bool vec8, int64_t max_blocks = 0);

// For kernels that loop over a row's columns without keeping them in registers (no limit on H): groups of
// 32..256 threads per row (enough to cover H / vec), nch = 1.
RowPlan plan_rows_looping(int64_t rows, int64_t H, bool vec8);

// Grid size for a grid-stride loop over n items with `threads` per block.
int64_t grid_for_items(int64_t n, int threads);

// Scratch memory from the caching allocator, for one op call (returned to the cache afterwards; the
// stream orders every reuse after this op's kernels). Not for code captured into a CUDA graph.
Tensor scratch(int64_t bytes);

}  // namespace ms::cuda

// Dispatches a run-time value onto a compile-time constant: MS_VEC_DISPATCH(vec, VEC, ...) with vec 1 or 8.
#define MS_VEC_DISPATCH(vec, VEC, ...)             \
  do {                                             \
    if ((vec) == 8) { constexpr int VEC = 8; __VA_ARGS__; } \
    else { constexpr int VEC = 1; __VA_ARGS__; }   \
  } while (0)

// nch in {1, 2, 4, 8, 16}.
#define MS_NCH_DISPATCH(nch, NCH, ...)                                  \
  do {                                                                  \
    switch (nch) {                                                      \
      case 1: { constexpr int NCH = 1; __VA_ARGS__; break; }            \
      case 2: { constexpr int NCH = 2; __VA_ARGS__; break; }            \
      case 4: { constexpr int NCH = 4; __VA_ARGS__; break; }            \
      case 8: { constexpr int NCH = 8; __VA_ARGS__; break; }            \
      default: { constexpr int NCH = 16; __VA_ARGS__; break; }          \
    }                                                                   \
  } while (0)
