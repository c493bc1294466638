// Token embedding lookup.
//   weight (V, E) float; ids i32 of any shape S with values in [0, V); out (S..., E), same dtype as weight.
//   Forward: out[s, :] = weight[ids[s], :]. An id outside [0, V) is an error (CPU) / undefined (CUDA is
//   checked by the caller's tokenizer).
//   Backward: dweight[ids[s], :] += dout[s, :] (accumulates into dweight, a parameter gradient).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, embedding_forward, (const Tensor& weight, const Tensor& ids, const Tensor& out))
MS_DECLARE_OP(void, embedding_backward, (const Tensor& ids, const Tensor& dout, const Tensor& dweight))

inline void embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) {
  MS_DISPATCH(weight, embedding_forward, weight, ids, out);
}
inline void embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) {
  MS_DISPATCH(dout, embedding_backward, ids, dout, dweight);
}

}  // namespace ms
