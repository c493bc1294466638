// Helpers for the CUDA-vs-CPU op tests: device moves, NaN-poisoned outputs and the tolerances.
//
// The reference is the CPU twin run in f64 on exactly the values the GPU sees (f32 or bf16 inputs widened
// to f64), so the measured error is the GPU's own. Tolerances (issue 4): f32 < 1e-5, TF32 GEMM < 1e-3,
// bf16 < 1e-2, as max_rel_error: max_i |a_i - b_i| / (|b_i| + floor * rms(b)). The floor says which
// elements are judged relative to the tensor's scale rather than their own size:
//   kFloorProduct (1e-3): outputs formed by products/quotients of inputs (no cancellation);
//   kFloorSum (0.1): outputs that add a few terms of the output's size (bias + w.x, y + alpha x): f32
//     rounding of the terms leaves ~1e-7 of their size, which no 1e-3 floor absorbs near zero;
//   kFloorReduction (1.0): long reductions (GEMM over K, parameter gradients over rows), judged against
//     the output's rms; f32 accumulation error grows with the number of terms.
#pragma once
#include "kernels/memory.h"
#include "tests/test_util.h"

namespace ms::test {

constexpr double kTolF32 = 1e-5, kTolTF32 = 1e-3, kTolBF16 = 1e-2;
constexpr double kFloorProduct = 1e-3, kFloorSum = 0.1, kFloorReduction = 1.0;

inline Tensor gpu(const Tensor& t) { return t.to(Device::cuda); }
inline Tensor host64(const Tensor& t) { return t.to(Device::cpu).to(DType::f64); }
// An uninitialized GPU tensor filled with NaN (or -12345 for integers): unwritten outputs show up.
inline Tensor gpu_poisoned(const Shape& shape, DType dt = DType::f32) {
  Tensor t = Tensor::empty(shape, dt, Device::cuda);
  poison(t);
  return t;
}
inline double tol_for(DType dt) { return dt == DType::bf16 ? kTolBF16 : kTolF32; }

// max_rel_error of a GPU result against a CPU reference, with a message naming what was compared.
#define MS_EXPECT_CLOSE(gpu_result, reference, tol, floor)                                                 \
  do {                                                                                                   \
    const double ms_err_ = ::ms::test::max_rel_error((gpu_result), (reference), (floor));                \
    EXPECT_LT(ms_err_, (tol)) << #gpu_result << " vs " << #reference << " (floor " << (floor) << ")";     \
  } while (0)

}  // namespace ms::test
