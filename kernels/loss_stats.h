// Reduces the per-row output of cross_entropy_forward to the three numbers a training or evaluation step
// reports, without copying the rows to the host:
//   loss_sum  = sum of losses[r] over rows with targets[r] != ignore_index (in double)
//   n_valid   = number of such rows
//   n_correct = number of such rows with pred[r] == targets[r]   (0 when pred is undefined)
// losses (R) f32 or f64, contiguous; targets, pred (R) i32. The result is a host value (like sum_squares).
// The sum is taken in a fixed order, so it is bit-identical run to run.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace ms {

struct LossStats {
  double loss_sum = 0.0;
  int64_t n_valid = 0, n_correct = 0;
};

MS_DECLARE_OP(LossStats, loss_stats,
              (const Tensor& losses, const Tensor& targets, const Tensor& pred, int ignore_index))

inline LossStats loss_stats(const Tensor& losses, const Tensor& targets, const Tensor& pred, int ignore_index) {
  MS_DISPATCH(losses, loss_stats, losses, targets, pred, ignore_index);
}

}  // namespace ms
