// CPU reference of the selective scan (kernels/selective_scan.h): plain sequential recurrences, OpenMP
// over channels. Forward keeps only the state entering every chunk of kChunk steps; backward walks the
// chunks from last to first, recomputing the states of one chunk at a time and running the adjoint
// recurrence backwards. dB and dC (sums over the channels of a group) are reduced from per-channel
// partials in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/selective_scan.h"

namespace ms::cpu {
namespace {

constexpr int64_t kChunk = 256;

template <class T> T softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }
template <class T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

// Real part of conj(a) * b, the inner product of two complex numbers seen as 2-vectors.
template <class T> T re_dot(std::complex<T> a, std::complex<T> b) { return a.real() * b.real() + a.imag() * b.imag(); }
template <class T> T re_dot(T a, T b) { return a * b; }
template <class T> std::complex<T> conj_of(std::complex<T> a) { return std::conj(a); }
template <class T> T conj_of(T a) { return a; }

// ---- Fast path for real A: per channel, a tile of kChunk steps at a time, states processed in groups of
// four interleaved recurrences (independent dependency chains), exp evaluated over whole arrays. ----

// exp over an array. float: Cody-Waite reduction to 2^k * e^f, |f| <= ln2/2, degree-6 Taylor polynomial
// (relative error < 3e-7); written branch-free so the compiler vectorizes it (needs -fno-trapping-math),
// with an AVX2+FMA clone picked at run time. double: std::exp.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void exp_array(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] < -87.0f ? -87.0f : x[i];  // ternaries, not std::min/max: they if-convert to blends
    v = v > 88.0f ? 88.0f : v;
    // Round v / ln2 to the nearest integer with the 1.5 * 2^23 trick (no branch, no conversion).
    const float kf = (v * 1.44269504f + 12582912.0f) - 12582912.0f;
    const float f = (v - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
    const float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.6666667e-1f + f * (4.1666668e-2f + f * (8.3333338e-3f + f * 1.3888889e-3f)))));
    const int32_t bits = (static_cast<int32_t>(kf) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, 4);
    x[i] = p * scale;
  }
}
void exp_array(double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

template <class T>
struct RealChannel {
  const T *u, *delta, *z;  // rows of length L
  const T *B, *C;          // row of state 0 for this channel's group; state n at + n * sB / sC
  int64_t sB, sC, N, L;
  const T* a;              // A[d, :] (contiguous copy)
  T dskip, bias;
  bool softplus;

  // Fills dt, raw (pre-softplus) and dt*u for steps [t0, t0 + n).
  void prepare(int64_t t0, int64_t n, T* dt, T* raw, T* dtu) const {
    for (int64_t i = 0; i < n; ++i) {
      raw[i] = delta[t0 + i] + bias;
      dt[i] = softplus ? cpu_softplus(raw[i]) : raw[i];
      dtu[i] = dt[i] * u[t0 + i];
    }
  }
  static T cpu_softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }
};

template <class T>
struct RealScratch {
  std::vector<T> dt, raw, dtu, y, E, H, dy, ddt, du;
  explicit RealScratch(int64_t N)
      : dt(kChunk), raw(kChunk), dtu(kChunk), y(kChunk), E(N * kChunk), H(N * kChunk), dy(kChunk), ddt(kChunk),
        du(kChunk) {}
};

// E[n][i] = exp(dt[i] * a[n]) for the tile.
template <class T>
void decay_tile(const RealChannel<T>& ch, const T* dt, int64_t len, T* E) {
  for (int64_t n = 0; n < ch.N; ++n) {
    T* e = E + n * kChunk;
    for (int64_t i = 0; i < len; ++i) e[i] = dt[i] * ch.a[n];
    exp_array(e, len);
  }
}

// Runs the recurrence over one tile from states h (updated); writes H[n][i] (state after step i) when H is
// given and adds sum_n C h to y.
template <class T>
void recur_tile(const RealChannel<T>& ch, int64_t t0, int64_t len, const T* E, const T* dtu, T* h, T* H, T* y) {
  int64_t n = 0;
  for (; n + 4 <= ch.N; n += 4) {
    const T *e0 = E + n * kChunk, *e1 = e0 + kChunk, *e2 = e1 + kChunk, *e3 = e2 + kChunk;
    const T *b0 = ch.B + n * ch.sB + t0, *b1 = b0 + ch.sB, *b2 = b1 + ch.sB, *b3 = b2 + ch.sB;
    const T *c0 = ch.C + n * ch.sC + t0, *c1 = c0 + ch.sC, *c2 = c1 + ch.sC, *c3 = c2 + ch.sC;
    T h0 = h[n], h1 = h[n + 1], h2 = h[n + 2], h3 = h[n + 3];
    for (int64_t i = 0; i < len; ++i) {
      h0 = e0[i] * h0 + dtu[i] * b0[i];
      h1 = e1[i] * h1 + dtu[i] * b1[i];
      h2 = e2[i] * h2 + dtu[i] * b2[i];
      h3 = e3[i] * h3 + dtu[i] * b3[i];
      y[i] += (c0[i] * h0 + c1[i] * h1) + (c2[i] * h2 + c3[i] * h3);
      if (H) {
        H[n * kChunk + i] = h0;
        H[(n + 1) * kChunk + i] = h1;
        H[(n + 2) * kChunk + i] = h2;
        H[(n + 3) * kChunk + i] = h3;
      }
    }
    h[n] = h0, h[n + 1] = h1, h[n + 2] = h2, h[n + 3] = h3;
  }
  for (; n < ch.N; ++n) {
    const T* e = E + n * kChunk;
    const T *b = ch.B + n * ch.sB + t0, *c = ch.C + n * ch.sC + t0;
    T hn = h[n];
    for (int64_t i = 0; i < len; ++i) {
      hn = e[i] * hn + dtu[i] * b[i];
      y[i] += c[i] * hn;
      if (H) H[n * kChunk + i] = hn;
    }
    h[n] = hn;
  }
}

template <class T>
T silu_of(T z) { return z / (T(1) + std::exp(-z)); }

template <class T>
void forward_real_channel(const RealChannel<T>& ch, RealScratch<T>& s, T* h, T* states, T* out) {
  for (int64_t t0 = 0; t0 < ch.L; t0 += kChunk) {
    const int64_t len = std::min(kChunk, ch.L - t0);
    if (states) std::copy(h, h + ch.N, states + (t0 / kChunk) * ch.N);
    ch.prepare(t0, len, s.dt.data(), s.raw.data(), s.dtu.data());
    for (int64_t i = 0; i < len; ++i) s.y[i] = ch.dskip * ch.u[t0 + i];
    decay_tile(ch, s.dt.data(), len, s.E.data());
    recur_tile(ch, t0, len, s.E.data(), s.dtu.data(), h, static_cast<T*>(nullptr), s.y.data());
    for (int64_t i = 0; i < len; ++i) out[t0 + i] = ch.z ? s.y[i] * silu_of(ch.z[t0 + i]) : s.y[i];
  }
}

// Gradient outputs of one channel for one chunk.
template <class T>
struct RealChannelGrads {
  T *du, *ddelta, *dz;   // rows (length L)
  T *dB_part, *dC_part;  // [n][i] partials for this channel and chunk
  double *dA, *dD, *dbias;
};

// The adjoint recurrence of K states at once (independent dependency chains), from the end of the tile
// to its start: accumulates du, ddelta (pre-softplus) into the scratch rows, writes the dB / dC partials,
// adds to dA and leaves the adjoint entering the tile in `carry`.
template <int K, class T>
void reverse_states(const RealChannel<T>& ch, RealScratch<T>& s, int64_t t0, int64_t len, int64_t n0,
                    const T* h_start, T* carry, const RealChannelGrads<T>& g) {
  const T *e[K], *H[K], *b[K], *c[K];
  T *dBp[K], *dCp[K];
  T an[K], gn[K], accA[K], h0[K];
  for (int k = 0; k < K; ++k) {
    const int64_t n = n0 + k;
    e[k] = s.E.data() + n * kChunk;
    H[k] = s.H.data() + n * kChunk;
    b[k] = ch.B + n * ch.sB + t0;
    c[k] = ch.C + n * ch.sC + t0;
    dBp[k] = g.dB_part + n * kChunk;
    dCp[k] = g.dC_part + n * kChunk;
    an[k] = ch.a[n];
    gn[k] = carry[n];
    accA[k] = 0;
    h0[k] = h_start[n];
  }
  for (int64_t i = len - 1; i >= 0; --i) {
    const T dy = s.dy[i], dtu = s.dtu[i], dt = s.dt[i], ui = ch.u[t0 + i];
    T gb_sum = 0, ddt = 0;
    for (int k = 0; k < K; ++k) {
      gn[k] += c[k][i] * dy;  // dL/dh_t
      const T hprev = i > 0 ? H[k][i - 1] : h0[k];
      dCp[k][i] = dy * H[k][i];
      dBp[k][i] = gn[k] * dtu;
      const T gb = gn[k] * b[k][i];
      gb_sum += gb;
      const T ge = gn[k] * e[k][i] * hprev;
      ddt += an[k] * ge + gb * ui;
      accA[k] += ge * dt;
      gn[k] *= e[k][i];
    }
    s.du[i] += gb_sum * dt;
    s.ddt[i] += ddt;
  }
  for (int k = 0; k < K; ++k) {
    carry[n0 + k] = gn[k];
    g.dA[n0 + k] += accA[k];
  }
}

template <class T>
void backward_real_chunk(const RealChannel<T>& ch, RealScratch<T>& s, int64_t t0, int64_t len, const T* h_start,
                         const T* dout, T* carry, const RealChannelGrads<T>& g) {
  const int64_t N = ch.N;
  T* H = s.H.data();
  T* E = s.E.data();
  ch.prepare(t0, len, s.dt.data(), s.raw.data(), s.dtu.data());
  decay_tile(ch, s.dt.data(), len, E);
  std::vector<T> h(h_start, h_start + N);
  for (int64_t i = 0; i < len; ++i) s.y[i] = ch.dskip * ch.u[t0 + i];
  recur_tile(ch, t0, len, E, s.dtu.data(), h.data(), H, s.y.data());
  double dD = 0;
  for (int64_t i = 0; i < len; ++i) {
    T dy = dout[t0 + i];
    if (ch.z) {
      const T zt = ch.z[t0 + i], sz = T(1) / (T(1) + std::exp(-zt));
      g.dz[t0 + i] = dy * s.y[i] * sz * (T(1) + zt * (T(1) - sz));
      dy *= zt * sz;
    }
    s.dy[i] = dy;
    s.du[i] = ch.dskip * dy;
    s.ddt[i] = 0;
    dD += static_cast<double>(dy) * ch.u[t0 + i];
  }
  *g.dD += dD;
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) reverse_states<4>(ch, s, t0, len, n, h_start, carry, g);
  for (; n < N; ++n) reverse_states<1>(ch, s, t0, len, n, h_start, carry, g);
  double dbias = 0;
  for (int64_t i = 0; i < len; ++i) {
    g.du[t0 + i] = s.du[i];
    const T d = ch.softplus ? s.ddt[i] / (T(1) + std::exp(-s.raw[i])) : s.ddt[i];
    g.ddelta[t0 + i] = d;
    dbias += d;
  }
  *g.dbias += dbias;
}

// Strided read-only views of the inputs for one batch entry; complex B/C entries are (re, im) pairs.
template <class T, bool Cplx>
struct Views {
  using S = std::conditional_t<Cplx, std::complex<T>, T>;
  const SelectiveScanInputs& in;
  ScanDims dims;
  const T *u, *delta, *z, *A, *Bm, *Cm, *Dv, *bias;
  Views(const SelectiveScanInputs& in_, const ScanDims& d) : in(in_), dims(d) {
    u = in.u.data<T>();
    delta = in.delta.data<T>();
    z = in.z.defined() ? in.z.template data<T>() : nullptr;
    A = in.A.data<T>();
    Bm = in.B.data<T>();
    Cm = in.C.data<T>();
    Dv = in.D.defined() ? in.D.template data<T>() : nullptr;
    bias = in.delta_bias.defined() ? in.delta_bias.template data<T>() : nullptr;
  }
  const T* row(const Tensor& t, const T* base, int64_t b, int64_t d) const {
    return base + b * t.stride(0) + d * t.stride(1);
  }
  S a(int64_t d, int64_t n) const {
    if constexpr (Cplx) {
      const T* p = A + d * in.A.stride(0) + n * in.A.stride(1);
      return S(p[0], p[in.A.stride(2)]);
    } else {
      return A[d * in.A.stride(0) + n * in.A.stride(1)];
    }
  }
  // B or C at (b, g, n, t).
  S bc(const Tensor& t, const T* base, int64_t b, int64_t g, int64_t n, int64_t time) const {
    const T* p = base + b * t.stride(0) + g * t.stride(1) + n * t.stride(2);
    if constexpr (Cplx) return S(p[time], p[t.stride(3) + time]);
    else return p[time];
  }
  T dt_raw(int64_t b, int64_t d, int64_t t) const { return row(in.delta, delta, b, d)[t] + (bias ? bias[d] : T(0)); }
  T dt(int64_t b, int64_t d, int64_t t) const {
    T x = dt_raw(b, d, t);
    return in.delta_softplus ? softplus(x) : x;
  }
  // Contribution of the state to y: Re(C h) counted twice for a conjugate pair.
  static T y_of(S c, S h) {
    if constexpr (Cplx) return T(2) * (c.real() * h.real() - c.imag() * h.imag());
    else return c * h;
  }
};

// State tensors are contiguous (B, D, [chunks,] N[, 2]) arrays created by us or checked contiguous.
template <class T, bool Cplx>
RealChannel<T> real_channel(const Views<T, Cplx>& v, const T* a, int64_t b, int64_t d, int64_t g) {
  const SelectiveScanInputs& in = v.in;
  RealChannel<T> ch;
  ch.u = v.row(in.u, v.u, b, d);
  ch.delta = v.row(in.delta, v.delta, b, d);
  ch.z = v.z ? v.row(in.z, v.z, b, d) : nullptr;
  ch.B = v.Bm + b * in.B.stride(0) + g * in.B.stride(1);
  ch.C = v.Cm + b * in.C.stride(0) + g * in.C.stride(1);
  ch.sB = in.B.stride(2);
  ch.sC = in.C.stride(2);
  ch.N = v.dims.state;
  ch.L = v.dims.len;
  ch.a = a;
  ch.dskip = v.Dv ? v.Dv[d] : T(0);
  ch.bias = v.bias ? v.bias[d] : T(0);
  ch.softplus = in.delta_softplus;
  return ch;
}

template <class T, bool Cplx>
void state_to(T* dst, const std::conditional_t<Cplx, std::complex<T>, T>* h, int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    if constexpr (Cplx) {
      dst[2 * n] = h[n].real();
      dst[2 * n + 1] = h[n].imag();
    } else {
      dst[n] = h[n];
    }
  }
}
template <class T, bool Cplx>
void state_from(std::conditional_t<Cplx, std::complex<T>, T>* h, const T* src, int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    if constexpr (Cplx) h[n] = {src[2 * n], src[2 * n + 1]};
    else h[n] = src[n];
  }
}

template <class T, bool Cplx>
void forward_impl(const SelectiveScanInputs& in, const ScanDims& dm, const Tensor& out, const Tensor& last_state,
                  SelectiveScanSaved* saved) {
  using S = std::conditional_t<Cplx, std::complex<T>, T>;
  const Views<T, Cplx> v(in, dm);
  const int64_t Bn = dm.batch, D = dm.dim, L = dm.len, N = dm.state, per_group = D / dm.groups;
  const int64_t sw = Cplx ? 2 : 1;  // reals per state entry
  const int64_t n_chunks = (L + kChunk - 1) / kChunk;
  T* chunk_states = nullptr;
  if (saved) {
    saved->chunk_len = kChunk;
    saved->chunk_states = Tensor::empty(Cplx ? Shape{Bn, D, n_chunks, N, 2} : Shape{Bn, D, n_chunks, N}, in.u.dtype());
    chunk_states = saved->chunk_states.data<T>();
  }
  Tensor h0 = in.initial_state.defined() ? in.initial_state.contiguous() : Tensor();
  // last_state may be strided: write a contiguous copy first when it is.
  const bool last_direct = last_state.defined() && last_state.is_contiguous();
  Tensor last = last_direct ? last_state : (last_state.defined() ? Tensor::empty_like(last_state) : Tensor());
  T* outp = out.data<T>();

#pragma omp parallel
  {
  std::conditional_t<Cplx, int, RealScratch<T>> scratch(N);
#pragma omp for collapse(2) schedule(static)
  for (int64_t b = 0; b < Bn; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      const int64_t g = d / per_group;
      if constexpr (!Cplx) {
        std::vector<T> h(N), a(N);
        for (int64_t n = 0; n < N; ++n) a[n] = v.a(d, n);
        if (h0.defined()) std::copy_n(h0.data<T>() + (b * D + d) * N, N, h.data());
        const RealChannel<T> ch = real_channel(v, a.data(), b, d, g);
        forward_real_channel(ch, scratch, h.data(), chunk_states ? chunk_states + (b * D + d) * n_chunks * N : nullptr,
                             outp + b * out.stride(0) + d * out.stride(1));
        if (last.defined()) std::copy_n(h.data(), N, last.data<T>() + (b * D + d) * N);
        continue;
      }
      std::vector<S> h(N), a(N);
      for (int64_t n = 0; n < N; ++n) a[n] = v.a(d, n);
      if (h0.defined()) state_from<T, Cplx>(h.data(), h0.data<T>() + (b * D + d) * N * sw, N);
      else std::fill(h.begin(), h.end(), S(0));
      const T* urow = v.row(in.u, v.u, b, d);
      const T* zrow = v.z ? v.row(in.z, v.z, b, d) : nullptr;
      T* orow = outp + b * out.stride(0) + d * out.stride(1);
      const T dskip = v.Dv ? v.Dv[d] : T(0);
      for (int64_t t = 0; t < L; ++t) {
        if (chunk_states && t % kChunk == 0)
          state_to<T, Cplx>(chunk_states + ((b * D + d) * n_chunks + t / kChunk) * N * sw, h.data(), N);
        const T dt = v.dt(b, d, t), ut = urow[t];
        T y = dskip * ut;
        for (int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * a[n]) * h[n] + dt * ut * v.bc(in.B, v.Bm, b, g, n, t);
          y += Views<T, Cplx>::y_of(v.bc(in.C, v.Cm, b, g, n, t), h[n]);
        }
        if (zrow) {
          const T zt = zrow[t];
          y *= zt * sigmoid(zt);
        }
        orow[t] = y;
      }
      if (last.defined()) state_to<T, Cplx>(last.data<T>() + (b * D + d) * N * sw, h.data(), N);
    }
  }
  }
  if (last.defined() && !last_direct) last_state.copy_(last);
}

template <class T, bool Cplx>
void backward_impl(const SelectiveScanInputs& in, const ScanDims& dm, const SelectiveScanSaved& saved,
                   const Tensor& dout, const SelectiveScanGrads& gr) {
  using S = std::conditional_t<Cplx, std::complex<T>, T>;
  const Views<T, Cplx> v(in, dm);
  const int64_t Bn = dm.batch, D = dm.dim, L = dm.len, N = dm.state, G = dm.groups, per_group = D / G;
  const int64_t sw = Cplx ? 2 : 1;
  const int64_t CL = saved.chunk_len, n_chunks = (L + CL - 1) / CL;
  MS_CHECK(CL == kChunk, "selective_scan_backward: chunk states saved with chunk length ", CL, ", expected ", kChunk);
  MS_CHECK(CL > 0 && saved.chunk_states.defined() && saved.chunk_states.size(2) == n_chunks,
           "selective_scan_backward: saved chunk states do not match this input (run the forward with `saved`)");
  const T* cs = saved.chunk_states.contiguous().data<T>();
  const T* doutp = dout.data<T>();

  // Parameter gradients accumulate per channel in double, added to the outputs at the end.
  std::vector<double> dA_acc(D * N * sw, 0.0), dD_acc(D, 0.0), dbias_acc(D, 0.0);
  // Per-channel partial contributions to dB and dC for the current chunk: [d][n][re/im][t].
  std::vector<T> dB_part(D * N * sw * CL), dC_part(D * N * sw * CL);
  std::vector<S> carry(D * N);  // adjoint entering the chunk from its right, per (d, n)

  for (int64_t b = 0; b < Bn; ++b) {
    std::fill(carry.begin(), carry.end(), S(0));
    for (int64_t c = n_chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * CL, T_len = std::min(L, t0 + CL) - t0;
#pragma omp parallel
      {
      std::conditional_t<Cplx, int, RealScratch<T>> scratch(N);
#pragma omp for schedule(static)
      for (int64_t d = 0; d < D; ++d) {
        const int64_t g = d / per_group;
        if constexpr (!Cplx) {
          std::vector<T> a(N);
          for (int64_t n = 0; n < N; ++n) a[n] = v.a(d, n);
          const RealChannel<T> ch = real_channel(v, a.data(), b, d, g);
          RealChannelGrads<T> rg;
          rg.du = gr.du.data<T>() + b * gr.du.stride(0) + d * gr.du.stride(1);
          rg.ddelta = gr.ddelta.data<T>() + b * gr.ddelta.stride(0) + d * gr.ddelta.stride(1);
          rg.dz = ch.z ? gr.dz.data<T>() + b * gr.dz.stride(0) + d * gr.dz.stride(1) : nullptr;
          rg.dB_part = dB_part.data() + d * N * CL;
          rg.dC_part = dC_part.data() + d * N * CL;
          rg.dA = dA_acc.data() + d * N;
          rg.dD = &dD_acc[d];
          rg.dbias = &dbias_acc[d];
          backward_real_chunk(ch, scratch, t0, T_len, cs + ((b * D + d) * n_chunks + c) * N,
                              doutp + b * dout.stride(0) + d * dout.stride(1), &carry[d * N], rg);
          continue;
        }
        std::vector<S> a(N), H((T_len + 1) * N), gadj(N);
        for (int64_t n = 0; n < N; ++n) a[n] = v.a(d, n);
        // Recompute the chunk's states; H[0] is the state entering the chunk, H[i+1] the state after t0+i.
        state_from<T, Cplx>(H.data(), cs + ((b * D + d) * n_chunks + c) * N * sw, N);
        const T* urow = v.row(in.u, v.u, b, d);
        const T* zrow = v.z ? v.row(in.z, v.z, b, d) : nullptr;
        for (int64_t i = 0; i < T_len; ++i) {
          const int64_t t = t0 + i;
          const T dt = v.dt(b, d, t), ut = urow[t];
          for (int64_t n = 0; n < N; ++n)
            H[(i + 1) * N + n] = std::exp(dt * a[n]) * H[i * N + n] + dt * ut * v.bc(in.B, v.Bm, b, g, n, t);
        }
        for (int64_t n = 0; n < N; ++n) gadj[n] = carry[d * N + n];
        const T dskip = v.Dv ? v.Dv[d] : T(0);
        const T* drow = doutp + b * dout.stride(0) + d * dout.stride(1);
        T* du_row = gr.du.data<T>() + b * gr.du.stride(0) + d * gr.du.stride(1);
        T* dd_row = gr.ddelta.data<T>() + b * gr.ddelta.stride(0) + d * gr.ddelta.stride(1);
        T* dz_row = zrow ? gr.dz.data<T>() + b * gr.dz.stride(0) + d * gr.dz.stride(1) : nullptr;
        T* dBp = dB_part.data() + d * N * sw * CL;
        T* dCp = dC_part.data() + d * N * sw * CL;
        for (int64_t i = T_len - 1; i >= 0; --i) {
          const int64_t t = t0 + i;
          const T raw = v.dt_raw(b, d, t);
          const T dt = in.delta_softplus ? softplus(raw) : raw, ut = urow[t];
          T dy = drow[t];
          if (zrow) {
            // out = y * silu(z): recompute y to get dz.
            T y = dskip * ut;
            for (int64_t n = 0; n < N; ++n) y += Views<T, Cplx>::y_of(v.bc(in.C, v.Cm, b, g, n, t), H[(i + 1) * N + n]);
            const T zt = zrow[t], sz = sigmoid(zt);
            dz_row[t] = dy * y * sz * (T(1) + zt * (T(1) - sz));
            dy *= zt * sz;
          }
          T du = dskip * dy, ddt = 0;
          dD_acc[d] += static_cast<double>(dy) * ut;
          const T ymul = Cplx ? T(2) : T(1);
          for (int64_t n = 0; n < N; ++n) {
            const S cn = v.bc(in.C, v.Cm, b, g, n, t), bn = v.bc(in.B, v.Bm, b, g, n, t);
            const S h = H[(i + 1) * N + n], hprev = H[i * N + n];
            const S dA = std::exp(dt * a[n]);
            gadj[n] += conj_of(cn) * (ymul * dy);  // now dL/dh_t
            const S gC = conj_of(h) * (ymul * dy);
            const S gB = gadj[n] * (dt * ut);
            if constexpr (Cplx) {
              dCp[(n * 2) * CL + i] = gC.real();
              dCp[(n * 2 + 1) * CL + i] = gC.imag();
              dBp[(n * 2) * CL + i] = gB.real();
              dBp[(n * 2 + 1) * CL + i] = gB.imag();
            } else {
              dCp[n * CL + i] = gC;
              dBp[n * CL + i] = gB;
            }
            du += dt * re_dot(bn, gadj[n]);
            const S dA_hprev = dA * hprev;
            ddt += re_dot(a[n] * dA_hprev, gadj[n]) + ut * re_dot(bn, gadj[n]);
            const S gA = conj_of(dA_hprev) * gadj[n] * dt;
            if constexpr (Cplx) {
              dA_acc[(d * N + n) * 2] += gA.real();
              dA_acc[(d * N + n) * 2 + 1] += gA.imag();
            } else {
              dA_acc[d * N + n] += gA;
            }
            gadj[n] = conj_of(dA) * gadj[n];  // dL/dh_{t-1} from this step
          }
          du_row[t] = du;
          const T draw = in.delta_softplus ? ddt * sigmoid(raw) : ddt;
          dd_row[t] = draw;
          dbias_acc[d] += draw;
        }
        for (int64_t n = 0; n < N; ++n) carry[d * N + n] = gadj[n];
      }
      }
      // dB, dC for this chunk: sum the group's channels in channel order (deterministic).
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k = 0; k < N * sw; ++k) {
          const int64_t n = k / sw, part = k % sw;
          T* dBrow = gr.dB.data<T>() + b * gr.dB.stride(0) + g * gr.dB.stride(1) + n * gr.dB.stride(2) +
                     (Cplx ? part * gr.dB.stride(3) : 0);
          T* dCrow = gr.dC.data<T>() + b * gr.dC.stride(0) + g * gr.dC.stride(1) + n * gr.dC.stride(2) +
                     (Cplx ? part * gr.dC.stride(3) : 0);
          // Channel-major accumulation: contiguous, vectorizable rows, still a fixed order of additions.
          std::vector<double> sb(T_len, 0.0), sc(T_len, 0.0);
          for (int64_t d = g * per_group; d < (g + 1) * per_group; ++d) {
            const T* pb = dB_part.data() + (d * N * sw + k) * CL;
            const T* pc = dC_part.data() + (d * N * sw + k) * CL;
            for (int64_t i = 0; i < T_len; ++i) {
              sb[i] += pb[i];
              sc[i] += pc[i];
            }
          }
          for (int64_t i = 0; i < T_len; ++i) {
            dBrow[t0 + i] = static_cast<T>(sb[i]);
            dCrow[t0 + i] = static_cast<T>(sc[i]);
          }
        }
      }
    }
  }
  // Accumulate parameter gradients (+=).
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t p = 0; p < sw; ++p) {
        const int64_t off = d * gr.dA.stride(0) + n * gr.dA.stride(1) + (Cplx ? p * gr.dA.stride(2) : 0);
        gr.dA.data<T>()[off] += static_cast<T>(dA_acc[(d * N + n) * sw + p]);
      }
    }
    if (gr.dD.defined()) gr.dD.data<T>()[d * gr.dD.stride(0)] += static_cast<T>(dD_acc[d]);
    if (gr.ddelta_bias.defined()) gr.ddelta_bias.data<T>()[d * gr.ddelta_bias.stride(0)] += static_cast<T>(dbias_acc[d]);
  }
}

template <class T, bool Cplx>
void state_update_impl(const Tensor& state, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                       const Tensor& Cm, const Tensor& Dv, const Tensor& z, const Tensor& dt_bias, bool dt_softplus,
                       const Tensor& out) {
  using S = std::conditional_t<Cplx, std::complex<T>, T>;
  const int64_t Bn = x.size(0), D = x.size(1), N = A.size(1), per_group = D / Bm.size(1);
  const int64_t sw = Cplx ? 2 : 1;
  T* st = state.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < Bn; ++b) {
    for (int64_t d = 0; d < D; ++d) {
      const int64_t g = d / per_group;
      T delta = dt.data<T>()[b * dt.stride(0) + d * dt.stride(1)] + (dt_bias.defined() ? dt_bias.data<T>()[d * dt_bias.stride(0)] : T(0));
      if (dt_softplus) delta = softplus(delta);
      const T xv = x.data<T>()[b * x.stride(0) + d * x.stride(1)];
      T y = Dv.defined() ? Dv.data<T>()[d * Dv.stride(0)] * xv : T(0);
      T* h = st + b * state.stride(0) + d * state.stride(1);
      for (int64_t n = 0; n < N; ++n) {
        auto ld = [&](const Tensor& t) -> S {
          const T* p = t.data<T>() + b * t.stride(0) + g * t.stride(1) + n * t.stride(2);
          if constexpr (Cplx) return S(p[0], p[t.stride(3)]);
          else return p[0];
        };
        S a, hv;
        if constexpr (Cplx) {
          const T* pa = A.data<T>() + d * A.stride(0) + n * A.stride(1);
          a = S(pa[0], pa[A.stride(2)]);
          hv = S(h[n * state.stride(2)], h[n * state.stride(2) + state.stride(3)]);
        } else {
          a = A.data<T>()[d * A.stride(0) + n * A.stride(1)];
          hv = h[n * state.stride(2)];
        }
        S decay;
        if constexpr (Cplx) {
          decay = std::exp(delta * a);
        } else {
          decay = delta * a;
          exp_array(&decay, 1);  // the same exp as the parallel scan, so steps reproduce it closely
        }
        hv = decay * hv + delta * xv * ld(Bm);
        if constexpr (Cplx) {
          h[n * state.stride(2)] = hv.real();
          h[n * state.stride(2) + state.stride(3)] = hv.imag();
        } else {
          h[n * state.stride(2)] = hv;
        }
        y += Views<T, Cplx>::y_of(ld(Cm), hv);
      }
      if (z.defined()) {
        const T zt = z.data<T>()[b * z.stride(0) + d * z.stride(1)];
        y *= zt * sigmoid(zt);
      }
      out.data<T>()[b * out.stride(0) + d * out.stride(1)] = y;
      (void)sw;
    }
  }
}

template <class F>
void dispatch_scan(DType dt, bool cplx, const char* op, F&& f) {
  if (dt == DType::f32) {
    if (cplx) f(float{}, std::true_type{});
    else f(float{}, std::false_type{});
  } else if (dt == DType::f64) {
    if (cplx) f(double{}, std::true_type{});
    else f(double{}, std::false_type{});
  } else {
    MS_CHECK(false, op, ": the CPU scan supports f32 and f64, got ", dtype_name(dt));
  }
}

}  // namespace

void selective_scan_forward(const SelectiveScanInputs& in, const Tensor& out, const Tensor& last_state,
                            SelectiveScanSaved* saved) {
  const char* op = "selective_scan_forward";
  const ScanDims dm = check_selective_scan(op, in);
  check_shape(op, "out", out, {dm.batch, dm.dim, dm.len});
  check_dtype(op, "out", out, in.u.dtype());
  check_inner_contiguous(op, "out", out);
  if (last_state.defined()) {
    check_shape(op, "last_state", last_state,
                dm.complex ? Shape{dm.batch, dm.dim, dm.state, 2} : Shape{dm.batch, dm.dim, dm.state});
    check_dtype(op, "last_state", last_state, in.A.dtype());
  }
  dispatch_scan(in.u.dtype(), dm.complex, op, [&](auto t, auto c) {
    forward_impl<decltype(t), decltype(c)::value>(in, dm, out, last_state, saved);
  });
}

void selective_scan_backward(const SelectiveScanInputs& in, const SelectiveScanSaved& saved, const Tensor& dout,
                             const SelectiveScanGrads& g) {
  const char* op = "selective_scan_backward";
  const ScanDims dm = check_selective_scan(op, in);
  const Shape bdl{dm.batch, dm.dim, dm.len};
  check_shape(op, "dout", dout, bdl);
  check_shape(op, "du", g.du, bdl);
  check_shape(op, "ddelta", g.ddelta, bdl);
  check_shape(op, "dA", g.dA, in.A.shape());
  check_shape(op, "dB", g.dB, in.B.shape());
  check_shape(op, "dC", g.dC, in.C.shape());
  if (in.z.defined()) check_shape(op, "dz", g.dz, bdl);
  if (g.dD.defined()) check_shape(op, "dD", g.dD, {dm.dim});
  if (g.ddelta_bias.defined()) check_shape(op, "ddelta_bias", g.ddelta_bias, {dm.dim});
  for (const Tensor* t : {&dout, &g.du, &g.ddelta, &g.dB, &g.dC, &g.dz}) {
    if (!t->defined()) continue;
    check_dtype(op, "dout/du/ddelta/dB/dC/dz", *t, in.u.dtype());
    check_inner_contiguous(op, "dout/du/ddelta/dB/dC/dz", *t);
  }
  for (const Tensor* t : {&g.dA, &g.dD, &g.ddelta_bias})
    if (t->defined()) check_dtype(op, "dA/dD/ddelta_bias", *t, in.A.dtype());
  dispatch_scan(in.u.dtype(), dm.complex, op, [&](auto t, auto c) {
    backward_impl<decltype(t), decltype(c)::value>(in, dm, saved, dout, g);
  });
}

void selective_state_update(const Tensor& state, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B,
                            const Tensor& C, const Tensor& D, const Tensor& z, const Tensor& dt_bias, bool dt_softplus,
                            const Tensor& out) {
  const char* op = "selective_state_update";
  check_defined(op, "x", x);
  MS_CHECK(x.ndim() == 2, op, ": x must be (B, D), got ", x.describe());
  MS_CHECK(A.defined() && (A.ndim() == 2 || A.ndim() == 3), op, ": A must be (D, N) or (D, N, 2)");
  const bool cplx = A.ndim() == 3;
  const int64_t Bn = x.size(0), Dn = x.size(1), N = A.size(1);
  MS_CHECK(B.defined() && B.ndim() == (cplx ? 4 : 3), op, ": B must be ", cplx ? "(B, G, N, 2)" : "(B, G, N)");
  const int64_t G = B.size(1);
  MS_CHECK(G > 0 && Dn % G == 0, op, ": ", G, " groups do not divide D = ", Dn);
  const Shape bc = cplx ? Shape{Bn, G, N, 2} : Shape{Bn, G, N};
  check_shape(op, "A", A, cplx ? Shape{Dn, N, 2} : Shape{Dn, N});
  check_shape(op, "B", B, bc);
  check_shape(op, "C", C, bc);
  check_shape(op, "state", state, cplx ? Shape{Bn, Dn, N, 2} : Shape{Bn, Dn, N});
  check_shape(op, "dt", dt, {Bn, Dn});
  check_shape(op, "out", out, {Bn, Dn});
  if (z.defined()) check_shape(op, "z", z, {Bn, Dn});
  if (D.defined()) check_shape(op, "D", D, {Dn});
  if (dt_bias.defined()) check_shape(op, "dt_bias", dt_bias, {Dn});
  for (const Tensor* t : {&state, &dt, &A, &B, &C, &D, &z, &dt_bias, &out})
    if (t->defined()) check_dtype(op, "state/x/dt/A/B/C/D/z/dt_bias/out", *t, x.dtype());
  dispatch_scan(x.dtype(), cplx, op, [&](auto t, auto c) {
    state_update_impl<decltype(t), decltype(c)::value>(state, x, dt, A, B, C, D, z, dt_bias, dt_softplus, out);
  });
}

}  // namespace ms::cpu
