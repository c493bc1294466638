// Causal pooling layers of the Mamba-UNet (SaShiMi's DownPool / UpPool, without biases), with explicit
// forward and backward. They are compositions of existing ops (a reshape is a view, then a GEMM; the shift is
// a strided copy/add), so they run on every device the ops run on, in f32 or f64.
//
// Down-pooling by p: x (B, L, W) -> out (B, L/p, W') = reshape(x, (B, L/p, p*W)) @ weight^T,
//   weight (W', p*W). Pooled step j sees exactly the inputs [p*j, p*j + p).
// Up-pooling by p with the causal shift, plus the skip connection:
//   raw (B, L, W) = reshape(c @ weight^T, (B, L, W)),  c (B, L/p, W'), weight (p*W, W')
//   out[t] = skip[t] + raw[t - s]   with s = up_pool_shift(p) = p - 1, and raw[< 0] = history (see below).
// Why s = p - 1 (docs/unet.md proves it): raw rows p*j .. p*j+p-1 come from c[j], which depends on inputs up
// to p*j + p - 1; shifted by p - 1 they land on outputs p*j + p - 1 .. p*j + 2p - 2, all at or after the last
// input c[j] saw. That is the smallest causal shift (SaShiMi shifts by a whole pooled step, p, one position
// later than needed), so output t sees every input <= t and none after it.
#pragma once
#include <cstdint>

#include "kernels/tensor.h"

namespace ms {

inline int64_t up_pool_shift(int64_t p) { return p - 1; }
// Step mode: the row of the latest up-pooled block (B, p, W) that output t of a level adds (t counted at
// that level). Rows 1 .. p-1 of the previous coarse output are released at t = p*j .. p*j + p - 2, row 0 of
// the new one at t = p*j + p - 1, right after it is computed.
inline int64_t up_pool_row(int64_t t, int64_t p) { return (t + 1) % p; }

// out (B, L/p, W') from x (B, L, W) contiguous; L % p == 0 (checked).
void down_pool_forward(const Tensor& weight, int64_t p, const Tensor& x, const Tensor& out);
// dweight += d/dweight; dx (B, L, W) contiguous = d/dx (beta = 0) or dx + d/dx (accumulate_dx, beta = 1).
void down_pool_backward(const Tensor& weight, int64_t p, const Tensor& x, const Tensor& dout, const Tensor& dx,
                        const Tensor& dweight, bool accumulate_dx);

// out (B, L, W) = skip + shifted up-pool of c (B, L/p, W'). `history` (B, p, W), optional: the last p raw
// rows of the previous chunk of the same sequence (rows 1 .. p-1 are still due and are added to out[0 .. p-2];
// zeros for a sequence start) and is overwritten with this chunk's last p raw rows, so consecutive chunks equal
// one call over the whole sequence. Undefined history means a sequence start. out must not alias skip or c.
void up_pool_forward(const Tensor& weight, int64_t p, const Tensor& c, const Tensor& skip, const Tensor& out,
                     const Tensor& history = Tensor());
// From dout (B, L, W): dc (B, L/p, W') written, dweight accumulated. The skip's gradient is dout itself and
// the history is a constant, so neither is computed here.
void up_pool_backward(const Tensor& weight, int64_t p, const Tensor& c, const Tensor& dout, const Tensor& dc,
                      const Tensor& dweight);

}  // namespace ms
