// Small elementwise and reduction helpers the layers need between the big ops.
//   add(a, b, out):        out = a + b             (same shape; any strides)
//   axpy(alpha, x, y):     y += alpha * x           (gradient accumulation)
//   scale(x, alpha):       x *= alpha               (in place)
//   cast(src, dst):        dst = src converted      (f32<->bf16 on CUDA, f32<->f64 on CPU; same shape)
//   sum_squares(x):        sum of x^2 in double     (gradient-norm clipping; a host value)
//   all_finite(x):         false if x holds a NaN or an infinity
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, add, (const Tensor& a, const Tensor& b, const Tensor& out))
MS_DECLARE_OP(void, axpy, (double alpha, const Tensor& x, const Tensor& y))
MS_DECLARE_OP(void, scale, (const Tensor& x, double alpha))
MS_DECLARE_OP(void, cast, (const Tensor& src, const Tensor& dst))
MS_DECLARE_OP(double, sum_squares, (const Tensor& x))
MS_DECLARE_OP(bool, all_finite, (const Tensor& x))

inline void add(const Tensor& a, const Tensor& b, const Tensor& out) { MS_DISPATCH(a, add, a, b, out); }
inline void axpy(double alpha, const Tensor& x, const Tensor& y) { MS_DISPATCH(y, axpy, alpha, x, y); }
inline void scale(const Tensor& x, double alpha) { MS_DISPATCH(x, scale, x, alpha); }
inline void cast(const Tensor& src, const Tensor& dst) { MS_DISPATCH(src, cast, src, dst); }
inline double sum_squares(const Tensor& x) { MS_DISPATCH(x, sum_squares, x); }
inline bool all_finite(const Tensor& x) { MS_DISPATCH(x, all_finite, x); }

}  // namespace ms
