// CUDA twin of kernels/sampling.h. It follows the CPU twin's steps (kernels/cpu/sampling.cpp) so that the
// same logits, seed and step give the same token:
//   key(x) = x, with NaN as -inf; candidates ordered by (key desc, index asc); the top_k first kept;
//   z = key / temperature in double, e_j = exp(z_j - z_0), cum_j = prefix sums in candidate order (double);
//   nucleus: n = 1 + the first j < k-1 with cum_j >= top_p * cum_{k-1} (else k);
//   u = random_uniform(seed, row, step) * cum_{n-1}; the token is the first candidate j < n with cum_j > u
//   (else the last kept one).
// The order is a sort of 64-bit keys (order-preserving bits of the f32 key << 32 | ~index), all distinct,
// so the sorted order is exactly (key desc, index asc) with no reliance on sort stability; -0 is folded
// into +0 first, as the CPU compares them equal. The prefix sums are a parallel scan, so cum_j may differ
// from the CPU's sequential sum in the last bits: a different token needs u to fall within ~1e-16 of a
// boundary ("ties aside").
//
// Paths (one launch chain per call, no host synchronization):
//   greedy (temperature <= 0): a group of threads per row reduces (key, index) to the arg-max.
//   V <= 4096: one block per row sorts the row in shared memory (cub::BlockRadixSort), scans, draws.
//     No workspace: capturable in a CUDA graph.
//   V > 4096: keys of all rows in a workspace, cub::DeviceSegmentedRadixSort, then one block per row scans
//     and draws. The workspace is kept and only grows: call once at the largest (B, V) before capturing.
#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <cmath>
#include <mutex>

#include "kernels/cuda/ops_common.cuh"
#include "kernels/random.h"
#include "kernels/sampling.h"

namespace ms::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kBlockSortMax = 4096;  // kThreads * 16
constexpr int kChunkItems = 8;           // large-V path: sorted positions per thread per chunk

__device__ __forceinline__ float sample_key(float x) {
  if ((__float_as_uint(x) & 0x7fffffffu) > 0x7f800000u) return -INFINITY;  // NaN (bit test: fast-math safe)
  return x == 0.0f ? 0.0f : x;                                                // -0 -> +0
}

// Unsigned encoding with the same order as the float key.
__device__ __forceinline__ uint64_t sort_key(float x, int64_t idx) {
  const uint32_t u = __float_as_uint(sample_key(x));
  const uint32_t e = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<uint64_t>(e) << 32) | static_cast<uint64_t>(0xffffffffu - static_cast<uint32_t>(idx));
}
__device__ __forceinline__ float key_value(uint64_t k) {
  const uint32_t e = static_cast<uint32_t>(k >> 32);
  return __uint_as_float((e & 0x80000000u) ? (e & 0x7fffffffu) : ~e);
}
__device__ __forceinline__ int key_index(uint64_t k) {
  return static_cast<int>(0xffffffffu - static_cast<uint32_t>(k & 0xffffffffu));
}

struct MinOp {
  __device__ __forceinline__ int64_t operator()(int64_t a, int64_t b) const { return a < b ? a : b; }
};

struct SampleArgs {
  FPtr x;
  int64_t ldx, B, V;
  int64_t k;  // candidates kept by top_k
  double temperature, top_p;
  uint64_t seed, step;
  int32_t* tokens;
  int64_t stok;
};

// ---- greedy -------------------------------------------------------------------------------------
__global__ void greedy_kernel(SampleArgs a, int tpr) {
  __shared__ ArgMax scratch[kThreads / 32];
  const int groups = blockDim.x / tpr, g = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.B;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    ArgMax best{-INFINITY, INT_MAX};
    if (r < a.B)
      for (int64_t c = lane; c < a.V; c += tpr)
        best = argmax_combine(best, ArgMax{sample_key(a.x.ld(r * a.ldx + c)), static_cast<int>(c)});
    best = group_allreduce(best, ArgMaxOp{}, tpr, scratch);
    if (r < a.B && lane == 0) a.tokens[r * a.stok] = best.i == INT_MAX ? 0 : best.i;
  }
}

// ---- steps 3 and 4 on a block's positions ----------------------------------------------------------
// Every thread holds cum for its positions pos[j] (or -1 when unused). Returns, in every thread, the
// sorted position of the chosen candidate. k1 = k - 1; total = cum[k1] (already broadcast).
template <int N>
__device__ __forceinline__ int64_t nucleus_and_draw(const SampleArgs& a, const double (&cum)[N],
                                                    const int64_t (&pos)[N], int64_t k1, double total,
                                                    int64_t* scratch, double* s_mass) {
  int64_t n1 = k1;  // n - 1
  if (a.top_p < 1.0) {
    const double target = a.top_p * total;
    int64_t first = INT64_MAX;
#pragma unroll
    for (int j = 0; j < N; ++j)
      if (pos[j] >= 0 && pos[j] < k1 && cum[j] >= target) first = min(first, pos[j]);
    first = group_allreduce(first, MinOp{}, blockDim.x, scratch);
    if (first != INT64_MAX) n1 = first;
  }
#pragma unroll
  for (int j = 0; j < N; ++j)
    if (pos[j] == n1) *s_mass = cum[j];
  __syncthreads();
  const double u = random_uniform(a.seed, static_cast<uint64_t>(blockIdx.x), a.step) * *s_mass;
  int64_t pick = INT64_MAX;
#pragma unroll
  for (int j = 0; j < N; ++j)
    if (pos[j] >= 0 && pos[j] <= n1 && cum[j] > u) pick = min(pick, pos[j]);
  pick = group_allreduce(pick, MinOp{}, blockDim.x, scratch);
  return pick == INT64_MAX ? n1 : pick;
}

// ---- small V: one block per row, sort in shared memory ----------------------------------------------
template <int IPT>
__global__ void __launch_bounds__(kThreads) sample_block_kernel(SampleArgs a) {
  using Sort = cub::BlockRadixSort<uint64_t, kThreads, IPT>;
  using Scan = cub::BlockScan<double, kThreads>;
  __shared__ union {
    typename Sort::TempStorage sort;
    typename Scan::TempStorage scan;
  } tmp;
  __shared__ int64_t scratch[kThreads / 32];
  __shared__ double s_top, s_total, s_mass;
  const int64_t r = blockIdx.x;

  uint64_t keys[IPT];
#pragma unroll
  for (int j = 0; j < IPT; ++j) {
    const int64_t i = static_cast<int64_t>(j) * kThreads + threadIdx.x;  // any arrangement: keys are distinct
    keys[j] = i < a.V ? sort_key(a.x.ld(r * a.ldx + i), i) : 0ull;      // padding sorts last
  }
  Sort(tmp.sort).SortDescending(keys);  // blocked result: thread t holds positions t * IPT + j
  __syncthreads();
  if (threadIdx.x == 0) s_top = static_cast<double>(key_value(keys[0])) / a.temperature;
  __syncthreads();
  const double top = s_top;
  double cum[IPT];
  int64_t pos[IPT];
  double run = 0.0;
#pragma unroll
  for (int j = 0; j < IPT; ++j) {
    pos[j] = static_cast<int64_t>(threadIdx.x) * IPT + j;
    if (pos[j] < a.k) run += exp(static_cast<double>(key_value(keys[j])) / a.temperature - top);
    cum[j] = run;
    if (pos[j] >= a.k) pos[j] = -1;
  }
  double prefix = 0.0;
  Scan(tmp.scan).ExclusiveSum(run, prefix);
#pragma unroll
  for (int j = 0; j < IPT; ++j) {
    cum[j] += prefix;
    if (pos[j] == a.k - 1) s_total = cum[j];
  }
  __syncthreads();
  const int64_t chosen = nucleus_and_draw(a, cum, pos, a.k - 1, s_total, scratch, &s_mass);
#pragma unroll
  for (int j = 0; j < IPT; ++j)
    if (pos[j] == chosen) a.tokens[r * a.stok] = key_index(keys[j]);
}

// ---- large V: keys in global memory, segmented sort, then one block per row ----------------------------
__global__ void fill_keys_kernel(SampleArgs a, uint64_t* keys, int* offsets) {
  const int64_t n = a.B * a.V;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / a.V, c = i % a.V;
    keys[i] = sort_key(a.x.ld(r * a.ldx + c), c);
    if (c == 0) offsets[r] = static_cast<int>(i);
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) offsets[a.B] = static_cast<int>(n);
}

__global__ void __launch_bounds__(kThreads) sample_sorted_kernel(SampleArgs a, const uint64_t* sorted, double* cum_buf) {
  using Scan = cub::BlockScan<double, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  __shared__ int64_t scratch[kThreads / 32];
  const int64_t r = blockIdx.x;
  const uint64_t* keys = sorted + r * a.V;
  double* cum = cum_buf + r * a.V;
  const double top = static_cast<double>(key_value(keys[0])) / a.temperature;
  // Prefix sums over the k kept candidates, chunk by chunk (positions blocked per thread within a chunk).
  double running = 0.0;
  constexpr int64_t kChunk = static_cast<int64_t>(kThreads) * kChunkItems;
  for (int64_t base = 0; base < a.k; base += kChunk) {
    double local[kChunkItems];
    double run = 0.0;
#pragma unroll
    for (int j = 0; j < kChunkItems; ++j) {
      const int64_t p = base + static_cast<int64_t>(threadIdx.x) * kChunkItems + j;
      if (p < a.k) run += exp(static_cast<double>(key_value(keys[p])) / a.temperature - top);
      local[j] = run;
    }
    double prefix = 0.0, aggregate = 0.0;
    Scan(tmp).ExclusiveSum(run, prefix, aggregate);
#pragma unroll
    for (int j = 0; j < kChunkItems; ++j) {
      const int64_t p = base + static_cast<int64_t>(threadIdx.x) * kChunkItems + j;
      if (p < a.k) cum[p] = running + (prefix + local[j]);
    }
    running += aggregate;
    __syncthreads();  // tmp is reused; cum writes visible to the block
  }
  const double total = cum[a.k - 1];
  // Steps 3 and 4 over the stored cum, a strided slice of positions per thread, chunk by chunk.
  int64_t n1 = a.k - 1;
  if (a.top_p < 1.0) {
    const double target = a.top_p * total;
    int64_t first = INT64_MAX;
    for (int64_t p = threadIdx.x; p < a.k - 1; p += blockDim.x)
      if (cum[p] >= target) {
        first = p;
        break;  // positions of this thread increase: the first hit is its minimum
      }
    first = group_allreduce(first, MinOp{}, blockDim.x, scratch);
    if (first != INT64_MAX) n1 = first;
  }
  const double u = random_uniform(a.seed, static_cast<uint64_t>(r), a.step) * cum[n1];
  int64_t pick = INT64_MAX;
  for (int64_t p = threadIdx.x; p <= n1; p += blockDim.x)
    if (cum[p] > u) {
      pick = p;
      break;
    }
  pick = group_allreduce(pick, MinOp{}, blockDim.x, scratch);
  if (threadIdx.x == 0) a.tokens[r * a.stok] = key_index(keys[pick == INT64_MAX ? n1 : pick]);
}

// Grow-only workspace for the large-V path (kept across calls so that steps never allocate).
struct Workspace {
  std::mutex mu;
  Tensor buf;
  void* get(size_t bytes) {
    if (!buf.defined() || buf.nbytes() < bytes)
      buf = Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, Device::cuda);
    return buf.raw();
  }
};
Workspace& workspace() {
  static auto* w = new Workspace();  // never destroyed: CUDA may be torn down before static destructors
  return *w;
}

size_t align256(size_t n) { return (n + 255) / 256 * 256; }

}  // namespace

void sample_tokens(const Tensor& logits, const SamplingParams& params, uint64_t seed, uint64_t step,
                   const Tensor& tokens) {
  const char* op = "sample_tokens";
  check_defined(op, "logits", logits);
  check_cuda(op, {&logits, &tokens});
  MS_CHECK(logits.ndim() == 2, op, ": logits must be (B, V), got ", logits.describe());
  check_inner_contiguous(op, "logits", logits);
  const int64_t B = logits.size(0), V = logits.size(1);
  MS_CHECK(V > 0 || B == 0, op, ": logits have an empty vocabulary: ", logits.describe());
  MS_CHECK(V < INT_MAX, op, ": vocabulary too large: ", logits.describe());
  check_shape(op, "tokens", tokens, {B});
  check_dtype(op, "tokens", tokens, DType::i32);
  MS_CHECK(!std::isnan(params.temperature) && !std::isnan(params.top_p), op,
           ": temperature and top_p must be numbers");
  SampleArgs a{};
  a.x = fptr(op, "logits", logits);
  if (B == 0) return;
  a.ldx = B > 1 ? logits.stride(0) : V;
  a.B = B;
  a.V = V;
  a.k = params.top_k > 0 ? std::min<int64_t>(params.top_k, V) : V;
  a.temperature = params.temperature;
  a.top_p = params.top_p;
  a.seed = seed;
  a.step = step;
  a.tokens = tokens.data<int32_t>();
  a.stok = tokens.stride(0);

  if (params.temperature <= 0) {
    const RowPlan p = plan_rows_looping(B, V, false);
    greedy_kernel<<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a, p.tpr);
    MS_CUDA_CHECK_LAUNCH();
    return;
  }
  MS_CHECK(B <= INT_MAX, op, ": batch too large: ", logits.describe());
  const unsigned rows = static_cast<unsigned>(B);
  if (V <= kBlockSortMax) {
    if (V <= kThreads) sample_block_kernel<1><<<rows, kThreads, 0, stream()>>>(a);
    else if (V <= kThreads * 4) sample_block_kernel<4><<<rows, kThreads, 0, stream()>>>(a);
    else sample_block_kernel<16><<<rows, kThreads, 0, stream()>>>(a);
    MS_CUDA_CHECK_LAUNCH();
    return;
  }

  MS_CHECK(B * V < INT_MAX, op, ": B * V = ", B * V, " exceeds the segmented sort's 32-bit offsets");
  const int n = static_cast<int>(B * V), segs = static_cast<int>(B);
  size_t sort_bytes = 0;
  MS_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeysDescending(
      nullptr, sort_bytes, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr), n, segs,
      static_cast<const int*>(nullptr), static_cast<const int*>(nullptr), 0, 64, stream()));
  const size_t keys_bytes = align256(sizeof(uint64_t) * static_cast<size_t>(n));
  const size_t off_bytes = align256(sizeof(int) * static_cast<size_t>(B + 1));
  std::lock_guard<std::mutex> lock(workspace().mu);
  char* ws = static_cast<char*>(workspace().get(2 * keys_bytes + off_bytes + sort_bytes));
  uint64_t* keys_in = reinterpret_cast<uint64_t*>(ws);
  uint64_t* keys_out = reinterpret_cast<uint64_t*>(ws + keys_bytes);
  int* offsets = reinterpret_cast<int*>(ws + 2 * keys_bytes);
  void* sort_tmp = ws + 2 * keys_bytes + off_bytes;
  fill_keys_kernel<<<static_cast<unsigned>(grid_for_items(B * V, kThreads)), kThreads, 0, stream()>>>(a, keys_in,
                                                                                                       offsets);
  MS_CUDA_CHECK_LAUNCH();
  MS_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeysDescending(sort_tmp, sort_bytes, keys_in, keys_out, n, segs,
                                                                  offsets, offsets + 1, 0, 64, stream()));
  // keys_in is free again: it holds the prefix sums (doubles) of each row.
  sample_sorted_kernel<<<rows, kThreads, 0, stream()>>>(a, keys_out, reinterpret_cast<double*>(keys_in));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
