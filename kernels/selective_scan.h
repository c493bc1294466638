// The selective scan (S6), the heart of a Mamba block. Same contract on CPU and CUDA.
//
// Per batch b, channel d (of D), state n (of N), time t (of L); g = d / (D / G) is d's group:
//   delta'[t] = softplus(delta[t] + delta_bias[d]) if delta_softplus, else delta[t] + delta_bias[d]
//   h[t]      = exp(delta'[t] * A[d,n]) * h[t-1] + delta'[t] * B[b,g,n,t] * u[t]       h[-1] = h0
//   y[t]      = sum_n C[b,g,n,t] * h[t]  (+ D[d] * u[t])
//   out[t]    = y[t] * silu(z[t])  when z is given, else y[t]
// Complex SSM (S4D-Lin): A is (D, N, 2) holding (re, im); B and C are (B, G, N, 2, L); h is complex and
//   y[t] = 2 * Re(sum_n C[n,t] * h[n,t]) + D u[t]  (the conjugate pair's contribution, as mamba_ssm does).
//
// Shapes (L has unit stride in every (.., L) tensor; other strides free so B and C can be slices of
//   x_proj's output):
//   u, delta, z, out: (B, D, L); A: (D, N) or (D, N, 2); B, C: (B, G, N, L) or (B, G, N, 2, L);
//   D, delta_bias: (D) or undefined; initial_state, last_state: (B, D, N) or (B, D, N, 2).
// Dtypes: u, delta, z, B, C, out share one dtype: f32 or f64 (CPU), f32 or bf16 (CUDA).
//   A, D, delta_bias, states and the gradients of A, D, delta_bias: f32 (f64 when the inputs are f64).
//   State arithmetic is always in f32 or better.
//
// Memory: forward never holds (B, D, L, N). With `saved` it stores the state at the start of every chunk
//   of saved->chunk_len steps (B, D, n_chunks, N[, 2]); backward recomputes the states inside one chunk
//   at a time from those. The chunk length is the implementation's choice.
// Backward: writes du, ddelta, dz (if z), dB, dC (activation gradients), accumulates dA, dD, ddelta_bias
//   (parameter gradients; dD / ddelta_bias may be undefined when D / delta_bias are). initial_state is
//   treated as a constant. ddelta is the gradient of the raw `delta` input (through the softplus).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

struct SelectiveScanInputs {
  Tensor u, delta, A, B, C;
  Tensor D, z, delta_bias;  // optional
  bool delta_softplus = false;
  Tensor initial_state;     // optional h0
  bool is_complex() const { return A.defined() && A.ndim() == 3; }
};

struct SelectiveScanSaved {
  Tensor chunk_states;      // (B, D, n_chunks, N[, 2]) state entering each chunk
  int64_t chunk_len = 0;
};

struct SelectiveScanGrads {
  Tensor du, ddelta, dA, dB, dC, dD, dz, ddelta_bias;
};

// Validates shapes, dtypes and devices; returns (B, D, L, N, G). Shared by both implementations.
struct ScanDims { int64_t batch, dim, len, state, groups; bool complex; };
ScanDims check_selective_scan(const char* op, const SelectiveScanInputs& in);

MS_DECLARE_OP(void, selective_scan_forward,
              (const SelectiveScanInputs& in, const Tensor& out, const Tensor& last_state,
               SelectiveScanSaved* saved))
MS_DECLARE_OP(void, selective_scan_backward,
              (const SelectiveScanInputs& in, const SelectiveScanSaved& saved, const Tensor& dout,
               const SelectiveScanGrads& grads))

// out: required. last_state: optional (undefined = not written). saved: nullptr when no backward follows.
inline void selective_scan_forward(const SelectiveScanInputs& in, const Tensor& out, const Tensor& last_state,
                                   SelectiveScanSaved* saved) {
  MS_DISPATCH(in.u, selective_scan_forward, in, out, last_state, saved);
}
inline void selective_scan_backward(const SelectiveScanInputs& in, const SelectiveScanSaved& saved,
                                    const Tensor& dout, const SelectiveScanGrads& grads) {
  MS_DISPATCH(in.u, selective_scan_backward, in, saved, dout, grads);
}

// One recurrent step for generation (constant time and memory per token):
//   state (B, D, N[, 2]) updated in place; x, dt, z, out: (B, D); B, C: (B, G, N) or (B, G, N, 2);
//   A (D, N[, 2]); D, dt_bias (D) optional; z optional. Computes exactly one t of the scan above.
MS_DECLARE_OP(void, selective_state_update,
              (const Tensor& state, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B,
               const Tensor& C, const Tensor& D, const Tensor& z, const Tensor& dt_bias, bool dt_softplus,
               const Tensor& out))

inline void selective_state_update(const Tensor& state, const Tensor& x, const Tensor& dt, const Tensor& A,
                                   const Tensor& B, const Tensor& C, const Tensor& D, const Tensor& z,
                                   const Tensor& dt_bias, bool dt_softplus, const Tensor& out) {
  MS_DISPATCH(x, selective_state_update, state, x, dt, A, B, C, D, z, dt_bias, dt_softplus, out);
}

}  // namespace ms
