// CUDA twin of kernels/conv1d.h: fused causal depthwise conv1d (+ SiLU), forward, backward and step.
//
// Layout: blockIdx.y is the channel d (its K weights and bias live in registers); the threads of the
// blocks of one channel stride over (batch, tile) items, a tile being kTile = 8 consecutive positions of one
// row, so neighbouring threads read neighbouring memory. A thread loads its tile plus the K-1 inputs before
// it (from init_state, or zeros, left of t = 0) once and computes 8 outputs.
// Backward: the thread recomputes the pre-activation on its tile plus the K-1 positions after it (their
// gradients reach its dx), forms g = dy * act'(pre), writes dx and accumulates dweight/dbias for its own
// positions; the block reduces those, writes one partial per (channel, block), and a small kernel adds the
// partials in a fixed order (deterministic).
// Step: one thread per (b, d): y = act(bias + w . [state, x]), then the state shifts left by one.
// Storage: x, y, dy, dx, init_state, conv_state f32 or bf16; weight, bias, dweight, dbias f32. Arithmetic f32.
#include <algorithm>

#include "kernels/conv1d.h"
#include "kernels/cuda/ops_common.cuh"

namespace ms::cuda {

namespace {

constexpr int kTile = 8;
constexpr int kThreads = 256;
constexpr int kMaxK = 8;

struct ConvArgs {
  FPtr x, init, y;                  // y: forward output, or dx in backward
  FPtr dy;                          // backward only
  int64_t sxb, sxd, sib, sid, syb, syd, sdyb, sdyd;
  const float* w;
  int64_t swd, swk;
  const float* bias;
  int64_t sbd;
  int64_t B, D, L;
  int K;
  bool silu;
  bool vec;        // whole tiles move as 16-byte vectors (rows 16-byte aligned, see vec_rows)
  float* partial;  // backward: (D, gridDim.x, K + 1), or nullptr
};

// xx[p] for p in [-(K-1), L): init_state left of 0 (zeros when undefined), x from 0, zeros at and past L.
__device__ __forceinline__ float load_xx(const ConvArgs& a, int64_t b, int64_t d, int64_t p) {
  if (p >= a.L) return 0.0f;
  if (p >= 0) return a.x.ld(b * a.sxb + d * a.sxd + p);
  if (!a.init.p) return 0.0f;
  return a.init.ld(b * a.sib + d * a.sid + (a.K - 1 + p));
}

// Loads positions t0 ... t0 + 7 of x into v: one or two 16-byte loads when the tile is whole and rows are
// aligned (a.vec), element by element otherwise.
__device__ __forceinline__ void load_tile(const ConvArgs& a, int64_t b, int64_t d, int64_t t0, float* v) {
  if (a.vec && t0 + kTile <= a.L) {
    a.x.ld8(b * a.sxb + d * a.sxd + t0, v);
  } else {
#pragma unroll
    for (int j = 0; j < kTile; ++j) v[j] = load_xx(a, b, d, t0 + j);
  }
}

// Stores v[0..8) at positions t0 ... of a row of `out` (positions >= L dropped).
__device__ __forceinline__ void store_tile(const ConvArgs& a, FPtr out, int64_t row, int64_t t0, const float* v) {
  if (a.vec && t0 + kTile <= a.L) {
    out.st8(row + t0, v);
  } else {
#pragma unroll
    for (int j = 0; j < kTile; ++j)
      if (t0 + j < a.L) out.st(row + t0 + j, v[j]);
  }
}

// K is the kernel width (a template parameter, so every register index is a compile-time constant).
template <int K>
__global__ void __launch_bounds__(kThreads) conv1d_forward_kernel(ConvArgs a) {
  const int64_t d = blockIdx.y;
  float w[K];
#pragma unroll
  for (int k = 0; k < K; ++k) w[k] = a.w[d * a.swd + k * a.swk];
  const float bias = a.bias ? a.bias[d * a.sbd] : 0.0f;
  const int64_t tiles = (a.L + kTile - 1) / kTile, items = a.B * tiles;
  for (int64_t it = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; it < items;
       it += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = it / tiles, t0 = (it % tiles) * kTile;
    // Window slot j holds position t0 - (K-1) + j: the K-1 inputs before the tile, then the tile.
    float xx[kTile + K - 1];
#pragma unroll
    for (int j = 0; j < K - 1; ++j) xx[j] = load_xx(a, b, d, t0 - (K - 1) + j);
    load_tile(a, b, d, t0, xx + (K - 1));
    float y[kTile];
#pragma unroll
    for (int i = 0; i < kTile; ++i) {
      // y[t] = bias + sum_k w[k] * xx[t - (K-1) + k]; position t0 + i - (K-1) + k is slot i + k.
      float acc = bias;
#pragma unroll
      for (int k = 0; k < K; ++k) acc += w[k] * xx[i + k];
      y[i] = a.silu ? acc * sigmoidf_(acc) : acc;
    }
    store_tile(a, a.y, b * a.syb + d * a.syd, t0, y);
  }
}

template <int N>
struct Floats {
  float v[N];
};
template <int N>
struct FloatsSum {
  __device__ __forceinline__ Floats<N> operator()(Floats<N> x, const Floats<N>& y) const {
#pragma unroll
    for (int i = 0; i < N; ++i) x.v[i] += y.v[i];
    return x;
  }
};

template <int K>
__global__ void __launch_bounds__(kThreads) conv1d_backward_kernel(ConvArgs a) {
  __shared__ Floats<K + 1> scratch[kThreads / 32];
  const int64_t d = blockIdx.y;
  float w[K];
#pragma unroll
  for (int k = 0; k < K; ++k) w[k] = a.w[d * a.swd + k * a.swk];
  const float bias = a.bias ? a.bias[d * a.sbd] : 0.0f;
  Floats<K + 1> acc;  // dweight[0..K), dbias at [K]
#pragma unroll
  for (int k = 0; k <= K; ++k) acc.v[k] = 0.0f;

  const int64_t tiles = (a.L + kTile - 1) / kTile, items = a.B * tiles;
  for (int64_t it = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; it < items;
       it += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = it / tiles, t0 = (it % tiles) * kTile;
    // Window slot j: position t0 - (K-1) + j, for the tile and K-1 positions on either side (the
    // pre-activations of the K-1 positions after the tile feed this tile's dx).
    float xx[kTile + 2 * (K - 1)];
#pragma unroll
    for (int j = 0; j < K - 1; ++j) xx[j] = load_xx(a, b, d, t0 - (K - 1) + j);
    load_tile(a, b, d, t0, xx + (K - 1));
#pragma unroll
    for (int j = 0; j < K - 1; ++j) xx[kTile + K - 1 + j] = load_xx(a, b, d, t0 + kTile + j);
    // dy on the tile and the K-1 positions after it (zero past L).
    const int64_t dyrow = b * a.sdyb + d * a.sdyd;
    float g[kTile + K - 1];
    if (a.vec && t0 + kTile <= a.L) {
      a.dy.ld8(dyrow + t0, g);
    } else {
#pragma unroll
      for (int s = 0; s < kTile; ++s) g[s] = t0 + s < a.L ? a.dy.ld(dyrow + t0 + s) : 0.0f;
    }
#pragma unroll
    for (int s = kTile; s < kTile + K - 1; ++s) g[s] = t0 + s < a.L ? a.dy.ld(dyrow + t0 + s) : 0.0f;
    // g = dy * act'(pre), pre recomputed: pre[t0 + s] = bias + sum_k w[k] * xx[s + k].
#pragma unroll
    for (int s = 0; s < kTile + K - 1; ++s) {
      if (a.silu) {
        float pre = bias;
#pragma unroll
        for (int k = 0; k < K; ++k) pre += w[k] * xx[s + k];
        const float sg = sigmoidf_(pre);
        g[s] *= sg * (1.0f + pre * (1.0f - sg));
      }
    }
    // dx[t] = sum_k w[k] g[t + K-1 - k]  (y[t'] reads x[t] with weight k when t' = t + K-1 - k).
    float dx[kTile];
#pragma unroll
    for (int i = 0; i < kTile; ++i) {
      float v = 0.0f;
#pragma unroll
      for (int k = 0; k < K; ++k) v += w[k] * g[i + K - 1 - k];
      dx[i] = v;
      // Parameter gradients from the positions this thread owns (g is zero past L):
      // dw[k] += g[t] * xx[t - (K-1) + k], db += g[t].
#pragma unroll
      for (int k = 0; k < K; ++k) acc.v[k] += g[i] * xx[i + k];
      acc.v[K] += g[i];
    }
    store_tile(a, a.y, b * a.syb + d * a.syd, t0, dx);
  }
  if (!a.partial) return;  // uniform across the block
  acc = group_allreduce(acc, FloatsSum<K + 1>{}, blockDim.x, scratch);
  if (threadIdx.x == 0) {
    float* out = a.partial + (d * gridDim.x + blockIdx.x) * (K + 1);
#pragma unroll
    for (int k = 0; k <= K; ++k) out[k] = acc.v[k];
  }
}

// dweight[d, k] += sum_c partial[d, c, k]; dbias[d] += sum_c partial[d, c, K]. One thread per (d, k).
__global__ void conv1d_add_partials_kernel(const float* partial, int64_t D, int chunks, int K, float* dw,
                                           int64_t sdwd, int64_t sdwk, float* db, int64_t sdbd) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < D * (K + 1);
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t d = i / (K + 1);
    const int k = static_cast<int>(i % (K + 1));
    float s = 0.0f;
    for (int c = 0; c < chunks; ++c) s += partial[(d * chunks + c) * (K + 1) + k];
    if (k < K) {
      if (dw) dw[d * sdwd + k * sdwk] += s;
    } else if (db) {
      db[d * sdbd] += s;
    }
  }
}

template <int KMAX>
__global__ void __launch_bounds__(kThreads) conv1d_step_kernel(FPtr state, int64_t ssb, int64_t ssd, int64_t ssk,
                                                                FPtr x, int64_t sxb, int64_t sxd, const float* w,
                                                                int64_t swd, int64_t swk, const float* bias,
                                                                int64_t sbd, FPtr y, int64_t syb, int64_t syd,
                                                                int64_t B, int64_t D, int K, bool silu) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < B * D;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = i / D, d = i % D;
    const int64_t srow = b * ssb + d * ssd;
    const float xv = x.ld(b * sxb + d * sxd);
    float st[KMAX];
#pragma unroll
    for (int k = 0; k < KMAX; ++k) st[k] = k < K - 1 ? state.ld(srow + k * ssk) : 0.0f;
    float acc = bias ? bias[d * sbd] : 0.0f;
#pragma unroll
    for (int k = 0; k < KMAX; ++k)
      if (k < K - 1) acc += w[d * swd + k * swk] * st[k];
    acc += w[d * swd + (K - 1) * swk] * xv;
    // Shift: the state keeps the last K-1 inputs, oldest first.
#pragma unroll
    for (int k = 0; k + 1 < KMAX; ++k)
      if (k + 1 < K - 1) state.st(srow + k * ssk, st[k + 1]);
    if (K > 1) state.st(srow + (K - 2) * ssk, xv);
    y.st(b * syb + d * syd, silu ? acc * sigmoidf_(acc) : acc);
  }
}

struct Dims {
  int64_t B, D, L, K;
};

Dims check_conv(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state) {
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  MS_CHECK(x.ndim() == 3, op, ": x must be (B, D, L), got ", x.describe());
  MS_CHECK(weight.ndim() == 2, op, ": weight must be (D, K), got ", weight.describe());
  Dims n{x.size(0), x.size(1), x.size(2), weight.size(1)};
  MS_CHECK(n.K >= 1 && n.K <= kMaxK, op, ": kernel width must be in [1, ", kMaxK, "] on CUDA, got weight ",
           weight.describe());
  check_shape(op, "weight", weight, {n.D, n.K});
  check_dtype(op, "weight", weight, DType::f32);
  if (bias.defined()) {
    check_shape(op, "bias", bias, {n.D});
    check_dtype(op, "bias", bias, DType::f32);
  }
  if (init_state.defined()) {
    check_shape(op, "init_state", init_state, {n.B, n.D, n.K - 1});
    check_inner_contiguous(op, "init_state", init_state);
  }
  check_inner_contiguous(op, "x", x);
  check_inner_contiguous(op, "weight", weight);
  MS_CHECK(n.D <= 65535, op, ": at most 65535 channels on CUDA, got ", n.D);
  return n;
}

ConvArgs make_args(const char* op, const Dims& n, const Tensor& x, const Tensor& weight, const Tensor& bias,
                   const Tensor& init_state, bool silu, const Tensor& out, const char* out_name) {
  ConvArgs a{};
  a.x = fptr(op, "x", x);
  a.init = fptr(op, "init_state", init_state);
  a.y = fptr(op, out_name, out);
  a.sxb = x.stride(0);
  a.sxd = x.stride(1);
  if (init_state.defined()) {
    a.sib = init_state.stride(0);
    a.sid = init_state.stride(1);
  }
  a.syb = out.stride(0);
  a.syd = out.stride(1);
  a.w = static_cast<const float*>(weight.raw());
  a.swd = weight.stride(0);
  a.swk = n.K > 1 ? weight.stride(1) : 0;
  a.bias = bias.defined() ? static_cast<const float*>(bias.raw()) : nullptr;
  a.sbd = bias.defined() ? bias.stride(0) : 0;
  a.B = n.B;
  a.D = n.D;
  a.L = n.L;
  a.K = static_cast<int>(n.K);
  a.silu = silu;
  return a;
}

// Blocks per channel: enough blocks in all to fill the GPU, at most one per 256 items.
int chunks_per_channel(const Dims& n) {
  const int64_t items = n.B * ((n.L + kTile - 1) / kTile);
  const int64_t want = std::max<int64_t>(1, (static_cast<int64_t>(sm_count()) * 8 + n.D - 1) / n.D);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(std::min<int64_t>(want, (items + kThreads - 1) / kThreads), 65535)));
}

// Rows of a (B, D, L) tensor start on 16-byte boundaries (so whole 8-position tiles are 16-byte aligned).
bool vec_rows(const Tensor& t) {
  if (!t.defined()) return true;
  return reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0 && (t.size(0) <= 1 || t.stride(0) % 8 == 0) &&
         (t.size(1) <= 1 || t.stride(1) % 8 == 0);
}

// Kernel width as a compile-time constant, 1 <= K <= kMaxK.
#define MS_K_DISPATCH(k, KC, ...)                        \
  do {                                                   \
    switch (k) {                                         \
      case 1: { constexpr int KC = 1; __VA_ARGS__; break; } \
      case 2: { constexpr int KC = 2; __VA_ARGS__; break; } \
      case 3: { constexpr int KC = 3; __VA_ARGS__; break; } \
      case 4: { constexpr int KC = 4; __VA_ARGS__; break; } \
      case 5: { constexpr int KC = 5; __VA_ARGS__; break; } \
      case 6: { constexpr int KC = 6; __VA_ARGS__; break; } \
      case 7: { constexpr int KC = 7; __VA_ARGS__; break; } \
      default: { constexpr int KC = 8; __VA_ARGS__; break; } \
    }                                                    \
  } while (0)

// The step kernel keeps K a run-time value (one thread per (b, d); registers sized for KMAX).
#define MS_KMAX_DISPATCH(K, KMAX, ...)            \
  do {                                            \
    if ((K) <= 4) { constexpr int KMAX = 4; __VA_ARGS__; } \
    else { constexpr int KMAX = kMaxK; __VA_ARGS__; }      \
  } while (0)

}  // namespace

void causal_conv1d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state,
                           bool silu, const Tensor& y) {
  const char* op = "causal_conv1d_forward";
  check_cuda(op, {&x, &weight, &bias, &init_state, &y});
  const Dims n = check_conv(op, x, weight, bias, init_state);
  check_shape(op, "y", y, x.shape());
  check_inner_contiguous(op, "y", y);
  ConvArgs a = make_args(op, n, x, weight, bias, init_state, silu, y, "y");
  if (n.B * n.D * n.L == 0) return;
  a.vec = vec_rows(x) && vec_rows(y);
  const dim3 grid(chunks_per_channel(n), static_cast<unsigned>(n.D));
  MS_K_DISPATCH(n.K, KC, conv1d_forward_kernel<KC><<<grid, kThreads, 0, stream()>>>(a));
  MS_CUDA_CHECK_LAUNCH();
}

void causal_conv1d_backward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state,
                            bool silu, const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const char* op = "causal_conv1d_backward";
  check_cuda(op, {&x, &weight, &bias, &init_state, &dy, &dx, &dweight, &dbias});
  const Dims n = check_conv(op, x, weight, bias, init_state);
  check_shape(op, "dy", dy, x.shape());
  check_shape(op, "dx", dx, x.shape());
  check_inner_contiguous(op, "dy", dy);
  check_inner_contiguous(op, "dx", dx);
  if (dweight.defined()) {
    check_shape(op, "dweight", dweight, {n.D, n.K});
    check_dtype(op, "dweight", dweight, DType::f32);
  }
  if (dbias.defined()) {
    check_shape(op, "dbias", dbias, {n.D});
    check_dtype(op, "dbias", dbias, DType::f32);
  }
  ConvArgs a = make_args(op, n, x, weight, bias, init_state, silu, dx, "dx");
  a.dy = fptr(op, "dy", dy);
  a.sdyb = dy.stride(0);
  a.sdyd = dy.stride(1);
  if (n.B * n.D * n.L == 0) return;
  a.vec = vec_rows(x) && vec_rows(dy) && vec_rows(dx);
  const int chunks = chunks_per_channel(n);
  Tensor ws;
  if (dweight.defined() || dbias.defined()) {
    ws = scratch(static_cast<int64_t>(sizeof(float)) * n.D * chunks * (n.K + 1));
    a.partial = static_cast<float*>(ws.raw());
  }
  const dim3 grid(chunks, static_cast<unsigned>(n.D));
  MS_K_DISPATCH(n.K, KC, conv1d_backward_kernel<KC><<<grid, kThreads, 0, stream()>>>(a));
  MS_CUDA_CHECK_LAUNCH();
  if (a.partial) {
    const int64_t work = n.D * (n.K + 1);
    conv1d_add_partials_kernel<<<static_cast<unsigned>(grid_for_items(work, kThreads)), kThreads, 0, stream()>>>(
        a.partial, n.D, chunks, static_cast<int>(n.K), dweight.defined() ? static_cast<float*>(dweight.raw()) : nullptr,
        dweight.defined() ? dweight.stride(0) : 0, dweight.defined() && n.K > 1 ? dweight.stride(1) : 0,
        dbias.defined() ? static_cast<float*>(dbias.raw()) : nullptr, dbias.defined() ? dbias.stride(0) : 0);
    MS_CUDA_CHECK_LAUNCH();
  }
}

void causal_conv1d_step(const Tensor& conv_state, const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu,
                        const Tensor& y) {
  const char* op = "causal_conv1d_step";
  check_defined(op, "conv_state", conv_state);
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  check_cuda(op, {&conv_state, &x, &weight, &bias, &y});
  MS_CHECK(x.ndim() == 2, op, ": x must be (B, D), got ", x.describe());
  MS_CHECK(weight.ndim() == 2 && weight.size(1) >= 1 && weight.size(1) <= kMaxK, op,
           ": weight must be (D, K) with 1 <= K <= ", kMaxK, " on CUDA, got ", weight.describe());
  const int64_t B = x.size(0), D = x.size(1), K = weight.size(1);
  check_shape(op, "weight", weight, {D, K});
  check_dtype(op, "weight", weight, DType::f32);
  check_shape(op, "conv_state", conv_state, {B, D, K - 1});
  if (bias.defined()) {
    check_shape(op, "bias", bias, {D});
    check_dtype(op, "bias", bias, DType::f32);
  }
  check_shape(op, "y", y, {B, D});
  const FPtr st = fptr(op, "conv_state", conv_state), xp = fptr(op, "x", x), yp = fptr(op, "y", y);
  if (B * D == 0) return;
  const int64_t ssk = K > 1 ? conv_state.stride(2) : 0;
  const unsigned grid = static_cast<unsigned>(grid_for_items(B * D, kThreads));
  MS_KMAX_DISPATCH(K, KMAX,
                   conv1d_step_kernel<KMAX><<<grid, kThreads, 0, stream()>>>(
                       st, conv_state.stride(0), conv_state.stride(1), ssk, xp, x.stride(0), x.stride(1),
                       static_cast<const float*>(weight.raw()), weight.stride(0), K > 1 ? weight.stride(1) : 0,
                       bias.defined() ? static_cast<const float*>(bias.raw()) : nullptr,
                       bias.defined() ? bias.stride(0) : 0, yp, y.stride(0), y.stride(1), B, D,
                       static_cast<int>(K), silu));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
