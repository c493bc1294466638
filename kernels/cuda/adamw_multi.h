// Multi-tensor optimizer entry points: one launch updates (or measures) many parameter tensors, instead of
// one launch per tensor. Plain C++ (no CUDA headers), so model code can include it in any build.
//   adamw_update_multi(list, s): for every entry, exactly adamw_update(param, grad, m, v, s) (kernels/adamw.h).
//   sum_squares_multi(list):     sum over the tensors of sum_squares(t) (kernels/elementwise.h), for global
//                                gradient-norm clipping; one host read.
// The ms:: versions dispatch on the first tensor's device (CPU: a loop over the single-tensor twins).
// CUDA: f32, contiguous tensors; the update launches ceil(chunks / 320) kernels for the whole list
// (65536-element chunks, up to 36 tensors per launch) and never allocates, so it can be captured in a graph.
#pragma once
#include <vector>

#include "kernels/adamw.h"
#include "kernels/elementwise.h"

namespace ms {

struct AdamWTensors {
  Tensor param, grad, m, v;
};

namespace cuda {
void adamw_update_multi(const std::vector<AdamWTensors>& list, const AdamWStep& s);
double sum_squares_multi(const std::vector<Tensor>& list);
}  // namespace cuda

inline void adamw_update_multi(const std::vector<AdamWTensors>& list, const AdamWStep& s) {
  if (list.empty()) return;
#if MAMBASEQ_WITH_CUDA
  if (list.front().param.is_cuda()) return cuda::adamw_update_multi(list, s);
#endif
  for (const AdamWTensors& t : list) adamw_update(t.param, t.grad, t.m, t.v, s);
}

inline double sum_squares_multi(const std::vector<Tensor>& list) {
  if (list.empty()) return 0.0;
#if MAMBASEQ_WITH_CUDA
  if (list.front().is_cuda()) return cuda::sum_squares_multi(list);
#endif
  double total = 0.0;
  for (const Tensor& t : list) total += sum_squares(t);
  return total;
}

}  // namespace ms
